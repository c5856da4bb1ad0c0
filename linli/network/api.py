# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.http import HttpRequest
from ninja import Router, Schema

from linli.core.schemas import errors
from linli.network.selectors import CenterNode, center_tree

router = Router(tags=["network"])


class CenterOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    address: str
    lat: float | None
    lon: float | None
    floor_area: float | None
    provision: str
    opening_hours: str
    rooms: int
    residents: int
    teams: int
    children: list["CenterOut"]


CenterOut.model_rebuild()


def _node(node: CenterNode) -> dict[str, object]:
    c = node.center
    return {
        "id": c.pk,
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "address": c.address,
        "lat": c.lat,
        "lon": c.lon,
        "floor_area": float(c.floor_area) if c.floor_area is not None else None,
        "provision": c.provision,
        "opening_hours": c.opening_hours,
        "rooms": node.rooms,
        "residents": node.counts.get("residents", 0),
        "teams": node.counts.get("teams", 0),
        "children": [_node(n) for n in node.children],
    }


@router.get("/centers", response={200: list[CenterOut], **errors(400, 401)})
def centers(request: HttpRequest) -> list[dict[str, object]]:
    """The service network as a tree: city → community → neighbourhood / business district."""
    return [_node(n) for n in center_tree()]
