from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class PeopleConfig(AppConfig):
    name = "linli.people"
    label = "people"
    verbose_name = pgettext_lazy("plural", "居民")

    def ready(self) -> None:
        from django.db.models import Count
        from django.utils.translation import ngettext

        from linli.network import counts

        from .models import Resident

        def per_community() -> dict[int, int]:
            rows = Resident.objects.values("community_id").annotate(n=Count("pk"))
            return {r["community_id"]: r["n"] for r in rows}

        counts.register(
            counts.CommunityCount(
                key="residents",
                label=lambda n: ngettext("%(n)s 位居民", "%(n)s 位居民", n) % {"n": n},
                per_community=per_community,
            )
        )
