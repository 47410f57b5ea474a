"""Each read model's definition, pinned: a change of its tables needs a raised version.

A store starts a read model afresh only for a higher version (ADR 17), so DDL changed
under the same version would leave stores on the old tables. When this fails, raise the
read model's `version` and pin the new definition here.
"""

from __future__ import annotations

from projections.registry import READ_MODELS
from storage.views import definition_version

PINNED = {
    "audit_trail": "v7:789e8d14911af8a9",
    "kpi_health": "v2:74eabf2b382e8b93",
    "seal": "v1:1e71b8330b60945d",
    "scores": "v3:a357e9cdb921f61b",
}


def test_every_read_model_is_pinned() -> None:
    assert sorted(PINNED) == sorted(model.name for model in READ_MODELS)


def test_a_changed_definition_comes_with_a_higher_version() -> None:
    for model in READ_MODELS:
        pinned = PINNED[model.name]
        if model.definition() != pinned:
            assert definition_version(model.definition()) > definition_version(pinned), (
                f"{model.name}: its tables changed; raise its version"
            )
        assert model.definition() == pinned, f"{model.name}: pin {model.definition()!r}"


def test_versions_order_definitions() -> None:
    assert definition_version(None) == 0
    assert definition_version("v12:abc") == 12
    assert definition_version("garbage") == 0
