from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    name = "linli.open311"
    label = "open311"
    verbose_name = _("Open311 接口")

    def ready(self) -> None:
        from linli.core import boundary
        from linli.open311.views import PREFIX, boundary_error

        # The input boundary refuses bad text before any view runs: here, in the spec's shape.
        boundary.ERROR_SHAPES[PREFIX] = boundary_error
