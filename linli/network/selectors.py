from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from linli.network import counts as community_counts
from linli.network.models import Center, Function


@dataclass
class CenterNode:
    center: Center
    rooms: int
    # The registered per-community figures (see network.counts), by key.
    counts: dict[str, int] = field(default_factory=dict)
    children: list[CenterNode] = field(default_factory=list)

    @property
    def centers(self) -> int:
        """This center and every center under it."""
        return 1 + sum(c.centers for c in self.children)

    @property
    def count_labels(self) -> list[str]:
        """The registered figures in words, e.g. "12 位居民"."""
        return [c.label(self.counts.get(c.key, 0)) for c in community_counts.registered()]


def center_tree() -> list[CenterNode]:
    """The whole network as a tree, with counts, in a fixed number of queries."""
    centers = list(Center.objects.annotate(room_count=Count("rooms")).order_by("kind", "code"))
    figures = {c.key: c.per_community() for c in community_counts.registered()}
    nodes = {
        c.pk: CenterNode(
            c,
            rooms=c.room_count,
            counts={key: by_id.get(c.pk, 0) for key, by_id in figures.items()},
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
            node.counts = {key: sum(n.counts[key] for n in node.children) for key in figures}
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
