"""Request and response bodies, one module per resource; shared value types in `common`.

Responses that show a read model's row are read off it by attribute
(`model_validate(row)`), so the read model's dataclass is the one row type.
"""
