from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "linli.activities"
    label = "activities"
    verbose_name = _("活动与课堂")

    def ready(self) -> None:
        # A closure of a room cancels the sessions it covers (network.services).
        from linli.activities import services  # noqa: F401
