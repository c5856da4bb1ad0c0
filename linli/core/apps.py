from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from linli.core.roles import city_group_sync

        # Every app's post_migrate, so each app's new permissions join the group.
        post_migrate.connect(city_group_sync, dispatch_uid="linli.city_group_sync")
