"""Frozen dataclasses that are quick to make, for read rows made by the thousand.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`,
to get past its own refusal: for a 17-field audit-trail row that costs about 15 us, where
a plain dataclass takes 2. Evidence of a heavy person makes tens of thousands of such
objects (a trail row, a check-in, its citation), so most of its time went there.

`quick_init` gives the class an `__init__` of the same signature that writes the fields
into the instance's `__dict__` at once, as `copy` and `pickle` already do. Everything
else stays the dataclass's: equality, hashing, `replace`, and the refusal to assign.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's `__init__` with one that stores its fields directly.

    Only for plain frozen dataclasses: every field set by `__init__`, positional or with a
    plain default, and no `__post_init__` (its checks would be skipped); anything else is
    refused here, when the class is defined.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with a __dict__")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which quick_init would skip")
    names: list[str] = []
    signature: list[str] = []
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: quick_init takes plain fields only")
        names.append(field.name)
        if field.default is dataclasses.MISSING:
            signature.append(field.name)
        else:
            defaults[f"_default_{field.name}"] = field.default
            signature.append(f"{field.name}=_default_{field.name}")
    stored = ", ".join(f"{name!r}: {name}" for name in names)
    source = f"def __init__(self, {', '.join(signature)}):\n"
    source += f"    self.__dict__.update({{{stored}}})\n"
    namespace: dict[str, Any] = {}
    exec(source, defaults, namespace)  # noqa: S102 - made from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
