from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    name = "linli.teams"
    label = "teams"
    verbose_name = _("服务队")

    def ready(self) -> None:
        from django.db.models import Count
        from django.utils.translation import ngettext

        from linli.network import counts

        from .models import Team

        def per_community() -> dict[int, int]:
            rows = Team.objects.values("community_id").annotate(n=Count("pk"))
            return {r["community_id"]: r["n"] for r in rows}

        counts.register(
            counts.CommunityCount(
                key="teams",
                label=lambda n: ngettext("%(n)s 支服务队", "%(n)s 支服务队", n) % {"n": n},
                per_community=per_community,
            )
        )
