"""Pieces the apps' data migrations share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def fill_english_names(
    app_label: str, model_name: str, names: Mapping[str, str]
) -> Callable[[Any, Any], None]:
    """A ``RunPython`` function setting ``name_en`` on the rows of a
    ``LocalizedName`` model by their ``code``."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        for row in model.objects.filter(code__in=names):
            row.name_en = names[row.code]
            row.save(update_fields=["name_en"])

    return forwards
