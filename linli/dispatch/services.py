"""Suggestions and batch assignment: gather inputs, ask the engine, apply
through the ordinary ``order_dispatch`` transition (so every assignment is
audited, guarded and locked like a manual one)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.errors import AppError, Forbidden, InvalidInput, NotFound
from linli.core.roles import Role
from linli.dispatch import engine
from linli.dispatch.gather import (
    Inputs,
    gather,
    nearest_members,
    open_slots,
    order_place,
    weights,
)
from linli.dispatch.models import DispatchPolicy
from linli.network.models import Center
from linli.orders import services as order_services
from linli.orders.models import BATCH_DISPATCH_NOTE, Order, Slot
from linli.orders.permissions import manages_community, order_actions
from linli.orders.selectors import order_get
from linli.teams.models import Member

if TYPE_CHECKING:
    from linli.core.models import User


def reason_text(code: str | None, detail: dict[str, int] | None = None) -> str:
    detail = detail or {}
    texts = {
        engine.Reason.NO_SKILL: _("没有队员具备所需技能。"),
        engine.Reason.OTHER_COMMUNITY: _("具备该技能的队员都在其他社区。"),
        engine.Reason.ALL_AT_CAPACITY: _("具备该技能的队员都已达到接单上限。"),
        engine.Reason.NONE_AVAILABLE: _("具备该技能且有余量的队员在期望时间内都没有空。"),
        engine.Reason.EXCLUDED: _("能接的队员都已在本订单中。"),
        engine.Reason.BATCH_CAPACITY: _("本批次中可用队员的接单余量已用完。"),
    }
    return texts.get(code or "", _("暂时没有合适的队员。"))


def explain(
    breakdown: dict[str, Any], skill_name: str, planned_load: int | None = None
) -> list[str]:
    """The reasons a person can check: 1.2 km · 有家政维修技能 · 当前 1/3 单 · 近30天评分 4.8.

    In a plan, ``planned_load`` is the member's load once this row and the
    plan's earlier rows are dispatched (计划后 2/3 单)."""
    cap = breakdown["cap"]
    load = (
        _("当前 %(load)d/%(cap)d 单") % {"load": breakdown["load"], "cap": cap}
        if planned_load is None
        else _("计划后 %(load)d/%(cap)d 单") % {"load": planned_load, "cap": cap}
    )
    parts = [
        _("%(km).1f 公里") % {"km": breakdown["distance_km"]},
        _("有%(skill)s技能") % {"skill": skill_name},
        load,
    ]
    if breakdown.get("rating") is None:
        parts.append(_("近30天暂无评分"))
    else:
        parts.append(_("近30天评分 %(r).1f") % {"r": breakdown["rating"]})
    if breakdown.get("week_load"):
        parts.append(_("本周已接 %(n)d 单") % {"n": breakdown["week_load"]})
    if breakdown.get("cross_community"):
        parts.append(_("跨社区"))
    return parts


@dataclass
class Suggested:
    member: Member
    cost: float
    breakdown: dict[str, Any]
    reasons: list[str]


@dataclass
class SlotSuggestions:
    slot: Slot
    candidates: list[Suggested] = field(default_factory=list)
    reason: str | None = None
    reason_text: str = ""


def _require_manager(user: User, order: Order) -> None:
    if manages_community(user, order.community_id):
        return
    if user.role == Role.LEADER and user.community_id == order.community_id:
        return
    raise Forbidden(_("只有本社区的派单员可以查看派单推荐。"))


# Suggestions gather the nearest members with the skill first, this many,
# then four times as many until the ranking is proven (see _suggest_inputs).
# bench/suggestions.py (5,000 members): first 16 -> 19 ms and 32 -> 21 ms
# (both widened), 64 -> 14 ms, 128 -> 16 ms, 256 -> 19 ms.
SUGGEST_FIRST = 64


def _suggest_inputs(
    order: Order, slots: list[Slot], team_ids: Collection[int] | None, k: int, w: engine.Weights
) -> tuple[Inputs, engine.Suggestion] | None:
    """Inputs for the nearest members with the order's skill only, and the
    engine's top ``k`` among them, once that is the top ``k`` of all of
    them: every member left out is at least as far as the nearest one left
    out, and every other cost term is >= 0, so none can cost less than
    ``per_km`` times that distance.  None when nobody qualifies (the caller
    then gathers everyone, to say why).

    With 5,000 members in the community it reads 64 of them, not 5,000
    (bench/suggestions.py: 14 ms against 85 ms)."""
    ids, km = nearest_members(
        order.item.skill_id, *order_place(order), [order.community_id], team_ids
    )
    n = SUGGEST_FIRST
    while len(ids):
        inputs = gather(slots, [order.community_id], team_ids=team_ids, member_ids=ids[:n].tolist())
        result = engine.suggest(0, inputs.slots, inputs.members, w, k=k, excluded=inputs.excluded)
        if n >= len(ids):
            return (inputs, result) if result.candidates else None
        if len(result.candidates) == k and result.candidates[-1].cost < w.per_km * km[n]:
            return inputs, result
        n *= 4
    return None


def suggestions_for_order(user: User, order_id: int, k: int = 5) -> list[SlotSuggestions]:
    """The top ``k`` members for each open slot of an order, with their reasons."""
    order = order_get(user, order_id)
    _require_manager(user, order)
    slots = [s for s in open_slots([order.community_id]) if s.order_id == order.pk]
    if not slots:
        return []
    # A team leader may only dispatch to the teams they lead: suggest from those.
    team_ids = order_actions(user, order).led_teams
    w = weights()
    found = _suggest_inputs(order, slots, team_ids, k, w)
    if found is None:
        # nobody qualifies: the engine says why, from everyone
        inputs = gather(slots, [order.community_id], team_ids=team_ids)
        result = engine.suggest(0, inputs.slots, inputs.members, w, k=k, excluded=inputs.excluded)
    else:
        inputs, result = found
    # The open slots of an order are alike (place, skill, window, the
    # members already on it), so they share one ranking.
    skill_name = order.item.skill.label
    rows = inputs.member_rows(c.member_id for c in result.candidates)
    out = []
    for slot in slots:
        item = SlotSuggestions(slot=slot, reason=result.reason)
        if result.reason:
            item.reason_text = reason_text(result.reason, result.detail)
        for c in result.candidates:
            if c.member_id not in rows:
                continue  # removed since it was read
            item.candidates.append(
                Suggested(
                    member=rows[c.member_id],
                    cost=c.cost,
                    breakdown=c.breakdown,
                    reasons=explain(c.breakdown, skill_name),
                )
            )
        out.append(item)
    return out


@dataclass
class PlannedAssignment:
    slot: Slot
    member: Member
    cost: float
    breakdown: dict[str, Any]
    reasons: list[str]
    applied: bool = False
    error: str = ""


@dataclass
class PlannedMiss:
    slot: Slot
    reason: str
    reason_text: str


@dataclass
class BatchPlan:
    community: Center | None
    assignments: list[PlannedAssignment]
    unassigned: list[PlannedMiss]
    stats: dict[str, Any]
    dry_run: bool = True

    @property
    def applied(self) -> int:
        return sum(1 for a in self.assignments if a.applied)

    @property
    def total_km(self) -> float:
        return sum(a.breakdown["distance_km"] for a in self.assignments)


def _batch_scope(user: User | None, community: Center | None) -> list[int] | None:
    """The community ids a batch covers (None for the whole city)."""
    if user is None:  # the worker
        return None if community is None else [community.pk]
    if community is None:
        if user.role != Role.CITY:
            raise InvalidInput(
                fields={"community": _("请选择社区；只有市级管理员可以对全市派单。")}
            )
        return None
    if not manages_community(user, community.pk):
        if user.role == Role.DISPATCHER:
            raise NotFound()
        raise Forbidden(_("只有本社区的派单员可以批量派单。"))
    return [community.pk]


def batch_dispatch(
    *, actor: User | None, community: Center | None, dry_run: bool = True
) -> BatchPlan:
    """Assign every open slot in a community (or the city) at the least total cost.

    With ``dry_run`` it only returns the plan. Otherwise each assignment is
    applied through ``order_dispatch`` in its own transaction: a slot that
    someone dispatched by hand in the meantime is refused there (it is no
    longer open) and reported, never dispatched twice.
    """
    scope = _batch_scope(actor, community)
    slots = open_slots(scope)
    plan = BatchPlan(community=community, assignments=[], unassigned=[], stats={}, dry_run=dry_run)
    if not slots:
        return plan
    inputs = gather(slots, scope)
    result = engine.assign(
        inputs.slots, inputs.members, weights(), excluded=inputs.excluded, workers=1
    )
    plan.stats = {k: v for k, v in result.stats.items() if isinstance(v, int | float | str)}
    rows = inputs.member_rows(a.member_id for a in result.assignments)
    # A member planned twice: each row says their load after it and the rows above.
    planned_before: dict[int, int] = {}
    for a in result.assignments:
        if a.member_id not in rows:
            continue  # removed since it was read: the slot waits for the next batch
        slot = inputs.slot_rows[a.slot_id]
        planned_before[a.member_id] = planned_before.get(a.member_id, 0) + 1
        after = a.breakdown["load"] + planned_before[a.member_id]
        plan.assignments.append(
            PlannedAssignment(
                slot=slot,
                member=rows[a.member_id],
                cost=a.cost,
                breakdown=a.breakdown,
                reasons=explain(a.breakdown, slot.order.item.skill.label, after),
            )
        )
    for u in result.unassigned:
        plan.unassigned.append(
            PlannedMiss(
                slot=inputs.slot_rows[u.slot_id],
                reason=u.reason,
                reason_text=reason_text(u.reason, u.detail),
            )
        )
    if dry_run:
        return plan
    for planned in plan.assignments:
        try:
            order_services.order_dispatch(
                actor=actor,
                order_id=planned.slot.order_id,
                member_id=planned.member.pk,
                slot_index=planned.slot.index,
                note=BATCH_DISPATCH_NOTE,
            )
            planned.applied = True
        except AppError as exc:
            planned.error = exc.message
    return plan


def auto_dispatch() -> dict[str, int]:
    """The worker's job: batch-assign open slots where a community chose automatic dispatch."""
    applied = skipped = 0
    for policy in DispatchPolicy.objects.filter(mode=DispatchPolicy.Mode.AUTOMATIC).select_related(
        "community"
    ):
        plan = batch_dispatch(actor=None, community=policy.community, dry_run=False)
        applied += plan.applied
        skipped += len(plan.assignments) - plan.applied
    return {"applied": applied, "skipped": skipped}


def policy_set(*, actor: User, community: Center, mode: str) -> DispatchPolicy:
    if mode not in DispatchPolicy.Mode.values:
        raise InvalidInput(fields={"mode": _("派单方式必须是 manual、suggest 或 automatic。")})
    if not manages_community(actor, community.pk):
        raise Forbidden()
    with transaction.atomic():
        policy, _created = DispatchPolicy.objects.update_or_create(
            community=community, defaults={"mode": mode}
        )
    return policy


def policy_for(community_id: int) -> str:
    mode = (
        DispatchPolicy.objects.filter(community_id=community_id)
        .values_list("mode", flat=True)
        .first()
    )
    return mode or DispatchPolicy.Mode.SUGGEST
