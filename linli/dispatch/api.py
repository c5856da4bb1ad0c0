# No "from __future__ import annotations": django-ninja reads these annotations at run time.
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import StrictBool

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.pagination import LazyMap
from linli.core.schemas import API_POST, TeamRef, errors
from linli.dispatch.services import BatchPlan, batch_dispatch, suggestions_for_order
from linli.network.models import Center
from linli.orders.load import member_load
from linli.teams.models import Member
from linli.teams.selectors import member_list

router = Router(tags=["dispatch"])


class MemberRef(Schema):
    id: int
    name: str
    username: str
    team: str


class CandidateOut(Schema):
    member: MemberRef
    cost: float
    reasons: list[str]
    breakdown: dict


class SlotSuggestionsOut(Schema):
    slot: int
    candidates: list[CandidateOut]
    reason: str | None
    reason_text: str


# How many candidates a slot's suggestions may list.
K_MIN, K_MAX = 1, 20


class SuggestionsQuery(Schema):
    # The range is in the OpenAPI; the endpoint checks it (one sentence for both ends).
    k: int = Field(
        5,
        description=f"Candidates per slot, {K_MIN} to {K_MAX}.",
        json_schema_extra={"minimum": K_MIN, "maximum": K_MAX},
    )


def _member(m: Member) -> dict:
    return {"id": m.pk, "name": m.name, "username": m.user.username, "team": m.team.name}


@router.get(
    "/orders/{order_id}/suggestions",
    response={200: list[SlotSuggestionsOut], **errors(400, 401, 403, 404)},
)
def suggestions(
    request: AuthedRequest, order_id: int, params: Query[SuggestionsQuery]
) -> list[dict]:
    """The top members for each open slot of an order, each with reasons in words.

    An open slot nobody can take carries a ``reason`` (no_skill, all_at_capacity,
    none_available, excluded, other_community) and its explanation.
    """
    k = params.k
    if not K_MIN <= k <= K_MAX:
        raise InvalidInput(fields={"k": _("请填 1 到 20 之间的整数。")})
    return [
        {
            "slot": s.slot.index,
            "candidates": [
                {
                    "member": _member(c.member),
                    "cost": round(c.cost, 3),
                    "reasons": c.reasons,
                    "breakdown": c.breakdown,
                }
                for c in s.candidates
            ],
            "reason": s.reason,
            "reason_text": s.reason_text,
        }
        for s in suggestions_for_order(request.user, order_id, k=k)
    ]


class BatchIn(Schema):
    community: str | None = Field(
        None, description="community center code; omit for the whole city (city admin)"
    )
    dry_run: StrictBool = True


class PlannedOut(Schema):
    order: int
    slot: int
    member: MemberRef
    distance_km: float
    cost: float
    reasons: list[str]
    applied: bool
    error: str


class MissOut(Schema):
    order: int
    slot: int
    reason: str
    reason_text: str


class BatchOut(Schema):
    community: str | None
    dry_run: bool
    assigned: int
    applied: int
    unassigned: int
    total_km: float
    assignments: list[PlannedOut]
    misses: list[MissOut]


def batch_out(plan: BatchPlan) -> dict:
    return {
        "community": plan.community.code if plan.community else None,
        "dry_run": plan.dry_run,
        "assigned": len(plan.assignments),
        "applied": plan.applied,
        "unassigned": len(plan.unassigned),
        "total_km": round(plan.total_km, 3),
        "assignments": [
            {
                "order": a.slot.order_id,
                "slot": a.slot.index,
                "member": _member(a.member),
                "distance_km": round(a.breakdown["distance_km"], 3),
                "cost": round(a.cost, 3),
                "reasons": a.reasons,
                "applied": a.applied,
                "error": a.error,
            }
            for a in plan.assignments
        ],
        "misses": [
            {
                "order": u.slot.order_id,
                "slot": u.slot.index,
                "reason": u.reason,
                "reason_text": u.reason_text,
            }
            for u in plan.unassigned
        ],
    }


@router.post(
    "/dispatch/batch",
    response={200: BatchOut, **errors(*API_POST, 401, 403, 404)},
)
def batch(request: AuthedRequest, payload: BatchIn) -> dict:
    """Assign every open slot of a community (or the city) at the least total distance and load.

    ``dry_run`` (the default) returns the plan without changing anything.
    """
    community = None
    if payload.community:
        community = Center.objects.filter(
            code=payload.community, kind=Center.Kind.COMMUNITY
        ).first()
        if community is None:
            raise InvalidInput(fields={"community": _("没有这个社区。")})
    return batch_out(
        batch_dispatch(actor=request.user, community=community, dry_run=payload.dry_run)
    )


# --- members and their load (who can take one more) ---------------------------


class MemberFilters(Schema):
    skill: str = ""
    team: int | None = None
    q: str = ""


class MemberOut(Schema):
    id: int
    name: str
    username: str
    team: TeamRef
    skills: list[str]
    max_concurrent: int
    load: int = Field(description="Open slots held now (assigned, accepted or in service).")


class MemberPage(LazyMap):
    """Members with their load: one query for the whole page, not one per member."""

    def __getitem__(self, s: slice) -> list[dict[str, object]]:
        page = list(self.qs[s])
        load = member_load(m.pk for m in page)
        return [member_out(m, load.get(m.pk, 0)) for m in page]


@router.get(
    "/members",
    tags=["teams"],
    response={200: list[MemberOut], **errors(400, 401, 403)},
)
@paginate(LimitOffsetPagination)
def members(request: AuthedRequest, filters: Query[MemberFilters]) -> list[dict[str, object]]:
    """Active members of the caller's community, by skill code, team id, or name.

    ``load`` against ``max_concurrent`` tells a dispatcher who can take one more.
    """
    qs = member_list(request.user, skill=filters.skill, team=filters.team, q=filters.q)
    return MemberPage(qs, member_out)  # type: ignore[return-value]


def member_out(m: Member, load: int = 0) -> dict[str, object]:
    return {
        "id": m.pk,
        "name": m.name,
        "username": m.user.username,
        "team": m.team,
        "skills": [s.code for s in m.skills.all()],
        "max_concurrent": m.max_concurrent,
        "load": load,
    }
