from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from linli.network.models import Center, Function
from linli.people.models import Resident
from linli.teams.models import Team


@dataclass
class CenterNode:
    center: Center
    rooms: int
    residents: int = 0
    teams: int = 0
    children: list[CenterNode] = field(default_factory=list)

    @property
    def centers(self) -> int:
        """This center and every center under it."""
        return 1 + sum(c.centers for c in self.children)


def center_tree() -> list[CenterNode]:
    """The whole network as a tree, with counts, in a fixed number of queries."""
    centers = list(Center.objects.annotate(room_count=Count("rooms")).order_by("kind", "code"))
    residents = dict(
        Resident.objects.values_list("community_id")
        .annotate(n=Count("pk"))
        .values_list("community_id", "n")
    )
    teams = dict(
        Team.objects.values_list("community_id")
        .annotate(n=Count("pk"))
        .values_list("community_id", "n")
    )
    nodes = {
        c.pk: CenterNode(
            c, rooms=c.room_count, residents=residents.get(c.pk, 0), teams=teams.get(c.pk, 0)
        )
        for c in centers
    }
    roots: list[CenterNode] = []
    for c in centers:
        node = nodes[c.pk]
        if c.parent_id and c.parent_id in nodes:
            nodes[c.parent_id].children.append(node)
        else:
            roots.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.center.code)
        if node.center.kind == Center.Kind.CITY:
            node.residents = sum(n.residents for n in node.children)
            node.teams = sum(n.teams for n in node.children)
    return roots


def center_detail(code: str) -> tuple[Center, list[Function], list[Function]]:
    """A center with its fixed functions ("8") and its optional ones ("X")."""
    from linli.core.errors import NotFound

    try:
        center = (
            Center.objects.select_related("parent")
            .prefetch_related("rooms", "functions", "children")
            .get(code=code)
        )
    except Center.DoesNotExist as exc:
        raise NotFound() from exc
    fixed = list(Function.objects.filter(fixed=True))
    optional = [f for f in center.functions.all() if not f.fixed]
    return center, fixed, optional


def center_counts() -> dict[str, int]:
    return Center.objects.aggregate(
        communities=Count("pk", filter=Q(kind=Center.Kind.COMMUNITY)),
        neighbourhoods=Count(
            "pk", filter=Q(kind__in=[Center.Kind.NEIGHBOURHOOD, Center.Kind.BUSINESS])
        ),
    )
