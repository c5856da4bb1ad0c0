"""Random action sequences by random actors over two orders, checked after every step.

A hypothesis state machine calls the services the way the pages and the API
do: any actor, any order, any arguments. A service may refuse (an AppError)
and then must have changed nothing; anything else it raises is a bug. After
every step the invariants below hold for both orders and every member.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from linli.core.errors import AppError
from linli.core.models import User
from linli.core.roles import Role
from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import (
    SLOT_LOAD_STATES,
    FollowUp,
    Order,
    OrderEvent,
    OrderStatus,
    Rating,
    ServiceItem,
    Slot,
    SlotStatus,
    order_status_of,
)
from linli.people.models import Guardianship, Resident
from linli.site.testing import Cast, make_user
from linli.teams.models import Member, Skill, Team

ON_POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]
S, OS = SlotStatus, OrderStatus
HOLDING = (S.ASSIGNED, S.ACCEPTED, S.IN_SERVICE, S.COMPLETED)
PRE = (OS.SUBMITTED, OS.DISPATCHED)
PRE_SERVICE = (OS.SUBMITTED, OS.DISPATCHED, OS.ACCEPTED)

# The legal order-level moves of each timeline action: (from, to).
ORDER_MOVES: dict[str, set[tuple[str, str]]] = {
    "place": {("", OS.SUBMITTED)},
    "dispatch": {(a, b) for a in PRE for b in PRE},
    "decline": {(a, b) for a in PRE for b in PRE},
    "expire": {(a, b) for a in PRE for b in PRE},
    "accept": {(a, b) for a in PRE for b in (*PRE, OS.ACCEPTED)},
    "start": {(OS.ACCEPTED, OS.IN_SERVICE), (OS.IN_SERVICE, OS.IN_SERVICE)},
    "complete": {(OS.IN_SERVICE, OS.IN_SERVICE), (OS.IN_SERVICE, OS.COMPLETED)},
    "rate": {(OS.COMPLETED, OS.RATED)},
    "follow_up": {(OS.RATED, OS.RATED)},
    "overdue": {(a, a) for a in PRE},
    "cancel": {(a, OS.CANCELLED) for a in (*PRE, OS.ACCEPTED, OS.IN_SERVICE)}
    | {(OS.CANCELLED, OS.CANCELLED)},
    "reject": {(a, OS.REJECTED) for a in PRE} | {(OS.REJECTED, OS.REJECTED)},
}
# The legal slot-level moves of each action that touches a slot.
SLOT_MOVES: dict[str, set[tuple[str, str]]] = {
    "dispatch": {(S.OPEN, S.ASSIGNED), (S.OPEN, S.OFFERED)},
    "accept": {(S.ASSIGNED, S.ACCEPTED), (S.OFFERED, S.ACCEPTED)},
    "decline": {(S.ASSIGNED, S.OPEN)},
    "expire": {(S.ASSIGNED, S.OPEN), (S.OFFERED, S.OPEN)},
    "start": {(S.ACCEPTED, S.IN_SERVICE)},
    "complete": {(S.IN_SERVICE, S.COMPLETED)},
    "cancel": {(a, S.CANCELLED) for a in (S.OPEN, S.OFFERED, S.ASSIGNED, S.ACCEPTED, S.IN_SERVICE)},
    "reject": {(a, S.CANCELLED) for a in (S.OPEN, S.OFFERED, S.ASSIGNED)},
}


ANYONE = ["resident", "guardian", "dispatcher", "leader", "dispatcher_b", "city"]
VOLUNTEERS = ["v0", "v1", "v2", "v3", "v4"]


@dataclass
class World:
    """Everyone who acts, made once per test; each example's orders are rolled back."""

    users: dict[str, User]
    members: dict[str, Member]
    teams: dict[str, Team]
    ward: Resident


def make_world(cast: Cast) -> World:
    a, b = cast.a, cast.b
    assert a.team is not None and a.member is not None and a.person is not None
    assert b.team is not None and b.member is not None
    repair = Skill.objects.get(code="home_repair")
    ServiceItem.objects.create(
        code="repair_pair",
        name="双人维修",
        fixed=True,
        team_kind=Team.Kind.CONVENIENCE,
        skill=repair,
        members_needed=2,
    )
    guardian = make_user("baihua-guardian", Role.RESIDENT, a.center)
    guardian_record = Resident.objects.create(
        name="曾晓红",
        gender=Resident.Gender.FEMALE,
        birth_date=dt.date(1972, 5, 1),
        community=a.center,
        account=guardian,
    )
    Guardianship.objects.create(
        ward=a.person, guardian=guardian_record, relation=Guardianship.Relation.CHILD
    )
    # A second team in 百花, with no leader; v3 serves in both teams.
    a2 = Team.objects.create(
        name="百花第二便民服务队", kind=Team.Kind.CONVENIENCE, community=a.center
    )
    members = {"v1": a.member, "vb": b.member}
    # v2 may hold one slot at a time: the cap is reached within these two orders.
    for name, team, cap, skilled in (
        ("v2", a.team, 1, True),
        ("v3", a.team, 3, True),
        ("v0", a.team, 3, False),
        ("v4", a2, 3, True),
        ("v3b", a2, 2, True),
    ):
        user = (
            members["v3"].user
            if name == "v3b"
            else make_user(f"baihua-{name}", Role.VOLUNTEER, a.center)
        )
        member = Member.objects.create(
            team=team, user=user, source=Member.Source.VOLUNTEER, max_concurrent=cap
        )
        if skilled:
            member.skills.add(repair)
        members[name] = member
    users = {
        "resident": a.resident,
        "guardian": guardian,
        "dispatcher": a.dispatcher,
        "leader": a.leader,
        "dispatcher_b": b.dispatcher,
        "city": cast.city,
        **{name: m.user for name, m in members.items() if name in VOLUNTEERS},
    }
    teams = {"a": a.team, "a2": a2, "b": b.team}
    return World(users=users, members=members, teams=teams, ward=a.person)


def mostly(*likely: str) -> st.SearchStrategy[str]:
    """The actors an action is meant for, three times in four; anyone otherwise."""
    everyone = ANYONE + VOLUNTEERS
    return st.sampled_from([*likely * (3 * len(everyone) // len(likely)), *everyone])


dispatchers = mostly("dispatcher", "dispatcher", "city", "leader")
volunteers = mostly("v1", "v2", "v3", "v4", "v0")
beneficiaries = mostly("resident", "guardian")
closers = mostly("resident", "guardian", "dispatcher", "city")
targets = st.sampled_from(
    [("member", m) for m in ("v1", "v2", "v3", "v4", "v3b")] * 2
    + [("team", "a")] * 4
    + [("team", "a2")] * 2
    + [("member", "v0"), ("member", "vb"), ("team", "b")]
)
slot_indexes = st.sampled_from([None, None, None, 1, 2, 3])
reasons = st.sampled_from(["", "临时有事", "  "])
# How each step picks its action. One rule draws them, rather than one rule
# each: hypothesis favours rules with fewer arguments and switches whole rules
# off per example (swarm testing), which left dispatching, and everything
# after it, nearly untried. Two steps in three take an action that moves the
# chosen order on from its state (with any actor still); the rest take any
# action, refusals included. A closed order is replaced by a new one.
ACTIONS = [
    "dispatch",
    "accept",
    "decline",
    "start",
    "complete",
    "rate",
    "record_callback",
    "close_follow_up",
    "cancel",
    "reject",
    "sweep",
    "place_again",
]
# Keyed by the status as read from the database (a plain str).
ONWARD: dict[str, list[str]] = {
    OS.SUBMITTED: ["dispatch"],
    OS.DISPATCHED: ["dispatch", "accept", "accept", "decline", "sweep"],
    OS.ACCEPTED: ["start"],
    OS.IN_SERVICE: ["start", "complete"],
    OS.COMPLETED: ["rate", "rate", "record_callback"],
    OS.RATED: ["close_follow_up", "place_again"],
    OS.CANCELLED: ["place_again"],
    OS.REJECTED: ["place_again"],
}


class OrderMachine(RuleBasedStateMachine):
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        # Every example runs in a savepoint that teardown() rolls back.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        w = self.world
        self.order_ids = [
            services.order_place(actor=w.users["resident"], item="home_repair").pk,
            services.order_place(
                actor=w.users["guardian"], item="repair_pair", resident_id=w.ward.pk
            ).pk,
        ]
        self.every_order = list(self.order_ids)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- acting -------------------------------------------------------------

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, 1), label="order")
        status = Order.objects.values_list("status", flat=True).get(pk=self.order_ids[i])
        onward = data.draw(st.integers(0, 2), label="onward") > 0
        name = data.draw(st.sampled_from(ONWARD[status] if onward else ACTIONS), label="action")
        if name == "sweep":
            minutes = data.draw(st.sampled_from([0, 30, 250, 3000]), label="minutes later")
            counts = services.orders_sweep(now=timezone.now() + dt.timedelta(minutes=minutes))
            event(f"sweep: {'changed' if any(counts.values()) else 'nothing'}")
            return
        if name == "place_again":
            self.place_again(data, i)
            return
        w, order_id = self.world, self.order_ids[i]
        order = Order.objects.select_related("item").get(pk=order_id)
        slots = list(order.slots.order_by("index"))
        if name == "dispatch":
            actor = data.draw(dispatchers, label="actor")
            kind, target = data.draw(targets, label="to")
            chosen = (
                {"member_id": w.members[target].pk}
                if kind == "member"
                else {"team_id": w.teams[target].pk}
            )
            slot = data.draw(slot_indexes, label="slot")
            self.attempt(
                f"dispatch to {kind}",
                services.order_dispatch,
                legal=self.legal_dispatch(actor, order, slots, kind, target, slot),
                actor=w.users[actor],
                order_id=order_id,
                slot_index=slot,
                **chosen,
            )
        elif name == "accept":
            actor = self.draw_member(data, slots)
            self.attempt(
                name,
                services.order_accept,
                legal=self.legal_accept(actor, order, slots),
                actor=w.users[actor],
                order_id=order_id,
            )
        elif name == "decline":
            actor = self.draw_member(data, slots)
            reason = data.draw(reasons, label="reason")
            self.attempt(
                name,
                services.order_decline,
                legal=bool(reason.strip()) and bool(self.held(actor, slots, S.ASSIGNED)),
                actor=w.users[actor],
                order_id=order_id,
                reason=reason,
            )
        elif name == "start":
            actor = self.draw_member(data, slots)
            self.attempt(
                name,
                services.order_start,
                # Service starts when every slot is accepted (the order is).
                legal=order.status in (OS.ACCEPTED, OS.IN_SERVICE)
                and bool(self.held(actor, slots, S.ACCEPTED)),
                actor=w.users[actor],
                order_id=order_id,
            )
        elif name == "complete":
            actor = self.draw_member(data, slots)
            note = data.draw(st.sampled_from(["", "已修好"]), label="note")
            self.attempt(
                name,
                services.order_complete,
                legal=bool(self.held(actor, slots, S.IN_SERVICE)),
                actor=w.users[actor],
                order_id=order_id,
                note=note,
            )
        elif name == "rate":
            actor = data.draw(beneficiaries, label="actor")
            resolved = data.draw(st.booleans(), label="resolved")
            satisfaction = data.draw(st.integers(0, 6), label="satisfaction")
            self.attempt(
                name,
                services.order_rate,
                legal=order.status == OS.COMPLETED
                and self.beneficiary_side(actor, order)
                and 1 <= satisfaction <= 5,
                actor=w.users[actor],
                order_id=order_id,
                resolved=resolved,
                satisfaction=satisfaction,
            )
        elif name == "record_callback":
            actor = data.draw(dispatchers, label="actor")
            satisfaction = data.draw(st.integers(0, 6), label="satisfaction")
            self.attempt(
                name,
                services.order_rate,
                legal=order.status == OS.COMPLETED
                and actor in ("dispatcher", "city")
                and 1 <= satisfaction <= 5,
                actor=w.users[actor],
                order_id=order_id,
                resolved=data.draw(st.booleans(), label="resolved"),
                satisfaction=satisfaction,
                callback=True,
            )
        elif name == "close_follow_up":
            actor = data.draw(dispatchers, label="actor")
            note = data.draw(st.sampled_from(["", "已电话回访"]), label="note")
            self.attempt(
                name,
                services.follow_up_close,
                legal=actor in ("dispatcher", "city")
                and bool(note)
                and FollowUp.objects.filter(order=order, closed_at=None).exists(),
                actor=w.users[actor],
                order_id=order_id,
                note=note,
            )
        elif name == "cancel":
            actor = data.draw(closers, label="actor")
            reason = data.draw(reasons, label="reason")
            if actor in ("dispatcher", "city"):  # until completion, with a reason
                legal = bool(reason.strip()) and order.status in (*PRE_SERVICE, OS.IN_SERVICE)
            else:  # the resident's side, before service starts
                legal = self.beneficiary_side(actor, order) and order.status in PRE_SERVICE
            self.attempt(
                name,
                services.order_cancel,
                legal=legal,
                actor=w.users[actor],
                order_id=order_id,
                reason=reason,
            )
        elif name == "reject":
            actor = data.draw(dispatchers, label="actor")
            reason = data.draw(reasons, label="reason")
            self.attempt(
                name,
                services.order_reject,
                # A dispatcher turns down an order nobody has accepted.
                legal=actor in ("dispatcher", "city")
                and bool(reason.strip())
                and order.status in PRE
                and all(s.status in (S.OPEN, S.OFFERED, S.ASSIGNED) for s in slots),
                actor=w.users[actor],
                order_id=order_id,
                reason=reason,
            )
        else:  # pragma: no cover
            raise AssertionError(name)

    def draw_member(self, data: st.DataObject, slots: list[Slot]) -> str:
        """Mostly a volunteer the order concerns (holding a slot, or offered one), else anyone."""
        concerned = sorted(
            name
            for name in VOLUNTEERS
            for m in self.memberships(name)
            if any(
                s.member_id == m.pk or (s.status == S.OFFERED and s.offered_team_id == m.team_id)
                for s in slots
            )
        )
        if concerned and data.draw(st.integers(0, 3), label="concerned") > 0:
            return data.draw(st.sampled_from(concerned), label="actor")
        return data.draw(volunteers, label="actor")

    def attempt(self, name: str, service: Callable[..., Any], legal: bool, **kwargs: Any) -> None:
        """Call a service: a legal action must succeed; an illegal one must be refused
        (an AppError) and leave everything as it was."""
        before = self.snapshot()
        try:
            service(**kwargs)
        except AppError as exc:
            event(f"{name}: refused ({type(exc).__name__})")
            assert not legal, f"a legal {name} was refused: {exc!r} {exc.fields}"
            assert self.snapshot() == before, f"{name} was refused ({exc!r}) but changed data"
        else:
            event(f"{name}: done")
            assert legal, f"an illegal {name} went through"

    # What the issue allows, written from its text rather than from the services.

    def memberships(self, actor: str) -> list[Member]:
        return [m for m in self.world.members.values() if m.user_id == self.world.users[actor].pk]

    def held(self, actor: str, slots: list[Slot], status: str) -> list[Slot]:
        mine = {m.pk for m in self.memberships(actor)}
        return [s for s in slots if s.member_id in mine and s.status == status]

    def beneficiary_side(self, actor: str, order: Order) -> bool:
        # Every order is for the ward, whose record is the resident's and whose
        # guardian is the guardian. Staff who placed one by phone are not on its
        # side: only the beneficiary's side rates (staff record a callback).
        return actor in ("resident", "guardian")

    def can_take(self, member: Member, order: Order, slots: list[Slot]) -> bool:
        """A member may be given a slot: active, skilled, not on this order yet, under the cap."""
        return (
            member.active
            and member.skills.filter(pk=order.item.skill_id).exists()
            and not any(s.member_id == member.pk and s.status != S.CANCELLED for s in slots)
            and Slot.objects.filter(member=member, status__in=SLOT_LOAD_STATES).count()
            < member.max_concurrent
        )

    def legal_dispatch(
        self,
        actor: str,
        order: Order,
        slots: list[Slot],
        kind: str,
        target: str,
        index: int | None,
    ) -> bool:
        w = self.world
        if actor not in ("dispatcher", "city", "leader") or order.status not in PRE:
            return False
        # The slot asked for (by default the first open one) must be open.
        if not any(s.status == S.OPEN and index in (None, s.index) for s in slots):
            return False
        team = w.members[target].team if kind == "member" else w.teams[target]
        if team.community_id != order.community_id:
            return False
        if actor == "leader" and team.leader_id != w.users["leader"].pk:
            return False
        if kind == "member":
            return self.can_take(w.members[target], order, slots)
        return team.members.filter(active=True, skills=order.item.skill_id).exists()

    def legal_accept(self, actor: str, order: Order, slots: list[Slot]) -> bool:
        if order.status not in PRE:
            return False
        if self.held(actor, slots, S.ASSIGNED):
            return True
        # Any qualified member of a team a slot is offered to may take it.
        return any(
            s.status == S.OFFERED
            and m.team_id == s.offered_team_id
            and self.can_take(m, order, slots)
            for s in slots
            for m in self.memberships(actor)
        )

    def place_again(self, data: st.DataObject, i: int) -> None:
        """Replace a closed order (rated, cancelled or rejected) with a new one."""
        closed = (OS.RATED, OS.CANCELLED, OS.REJECTED)
        if Order.objects.get(pk=self.order_ids[i]).status not in closed:
            return
        actor = data.draw(closers, label="actor")
        pair = data.draw(st.booleans(), label="two members")
        # The ward themself, their guardian, and the staff who run their community.
        may_place = ("resident", "guardian", "dispatcher", "city")
        before = self.snapshot()
        try:
            order = services.order_place(
                actor=self.world.users[actor],
                item="repair_pair" if pair else "home_repair",
                resident_id=None if actor == "resident" else self.world.ward.pk,
            )
        except AppError as exc:
            event(f"place: refused ({type(exc).__name__})")
            assert actor not in may_place, f"a legal place was refused: {exc!r}"
            assert self.snapshot() == before, f"place was refused ({exc!r}) but changed data"
            return
        event("place: done")
        assert actor in may_place, f"{actor} placed an order for the ward"
        self.order_ids[i] = order.pk
        self.every_order.append(order.pk)

    # --- what must hold -----------------------------------------------------

    def snapshot(self) -> tuple[Any, ...]:
        ids = self.every_order
        return (
            Order.objects.count(),
            list(Order.objects.filter(pk__in=ids).order_by("pk").values_list()),
            list(Slot.objects.filter(order__in=ids).order_by("pk").values_list()),
            OrderEvent.objects.filter(order__in=ids).count(),
            list(Rating.objects.filter(order__in=ids).order_by("pk").values_list()),
            list(FollowUp.objects.filter(order__in=ids).order_by("pk").values_list()),
            Notification.objects.count(),
        )

    @invariant()
    def orders_are_consistent(self) -> None:
        # The orders in play: a replaced order is closed, and nothing reaches it again.
        for order in Order.objects.filter(pk__in=self.order_ids):
            check_order(order)

    @invariant()
    def no_member_over_their_cap(self) -> None:
        members = self.world.members.values()
        load = services.member_load(m.pk for m in members)
        for m in members:
            assert load.get(m.pk, 0) <= m.max_concurrent, f"{m} holds {load[m.pk]} slots"


def check_order(order: Order) -> None:
    assert order.status in OS.values
    slots = list(order.slots.order_by("index"))
    events = list(order.events.order_by("pk"))

    # The timeline is a chain of legal moves and replays to the current state.
    status, replayed = services.replay(events)
    assert status == order.status
    assert set(replayed) <= {s.pk for s in slots}
    assert {s.pk: replayed.get(s.pk, S.OPEN) for s in slots} == {s.pk: s.status for s in slots}
    for e in events:
        assert (e.from_status, e.to_status) in ORDER_MOVES[e.action], f"illegal {e}"
        if e.slot_id is not None:
            assert (e.slot_from, e.slot_to) in SLOT_MOVES[e.action], f"illegal slot move {e}"

    # No slot accepted twice for one dispatch.
    per_slot: dict[int, list[OrderEvent]] = defaultdict(list)
    for e in events:
        if e.slot_id is not None:
            per_slot[e.slot_id].append(e)
    for slot_events in per_slot.values():
        accepted = False
        for e in slot_events:
            if e.action == "dispatch":
                assert not accepted, "an accepted slot was dispatched again"
            elif e.action == "accept":
                assert not accepted, "a slot was accepted twice"
                accepted = True

    # Who holds what.
    held = [s.member_id for s in slots if s.member_id and s.status != S.CANCELLED]
    assert len(held) == len(set(held)), "a member holds two slots of one order"
    for s in slots:
        if s.status in HOLDING:
            assert s.member_id is not None, f"{s} holds no member"
        if s.member_id is not None:
            assert s.status in (*HOLDING, S.CANCELLED), f"{s} holds a member"
        if s.status == S.OFFERED:
            assert s.offered_team_id is not None and s.member_id is None
        if s.status in (S.ACCEPTED, S.IN_SERVICE, S.COMPLETED):
            last_accept = [e for e in per_slot[s.pk] if e.action == "accept"][-1]
            assert last_accept.actor_id == s.member.user_id, "the slot's member did not accept it"

    # The order's state follows from its slots.
    states = [s.status for s in slots]
    if order.status in (OS.SUBMITTED, OS.DISPATCHED, OS.ACCEPTED):
        assert order_status_of(states) == order.status, (order.status, states)
        assert set(states) <= {S.OPEN, S.OFFERED, S.ASSIGNED, S.ACCEPTED}, states
    elif order.status == OS.IN_SERVICE:
        assert set(states) <= {S.ACCEPTED, S.IN_SERVICE, S.COMPLETED}, states
        assert set(states) & {S.IN_SERVICE, S.COMPLETED}, states
        assert set(states) != {S.COMPLETED}, states
    elif order.status in (OS.COMPLETED, OS.RATED):
        assert set(states) == {S.COMPLETED}, states
    elif order.status == OS.CANCELLED:
        assert set(states) <= {S.CANCELLED, S.COMPLETED}, states
    elif order.status == OS.REJECTED:
        assert set(states) == {S.CANCELLED}, states

    # Ratings, follow-ups and the overdue flag agree with the timeline.
    rating = Rating.objects.filter(order=order).first()
    assert (rating is not None) == (order.status == OS.RATED)
    if rating is not None:
        # Never by whoever served or dispatched it; a callback only by the community's staff.
        served = {s.member.user_id for s in slots if s.member is not None}
        dispatched = {e.actor_id for e in events if e.action == "dispatch"}
        assert rating.by_id not in served | dispatched or rating.source == Rating.Source.CALLBACK
        assert rating.by_id not in served
        if rating.source == Rating.Source.CALLBACK:
            assert rating.by.role in (Role.DISPATCHER, Role.CITY)
        else:
            assert rating.by.role == Role.RESIDENT
    follow_up = FollowUp.objects.filter(order=order).first()
    needs_follow_up = rating is not None and (not rating.resolved or rating.satisfaction <= 2)
    assert (follow_up is not None) == needs_follow_up
    closes = [e for e in events if e.action == "follow_up"]
    assert len(closes) == (1 if follow_up and follow_up.closed_at else 0)
    assert sum(e.action == "overdue" for e in events) == (1 if order.overdue else 0)


# Shrinking a failure replays dozens of steps against the database hundreds of
# times (up to hypothesis's five-minute cap); the unshrunk steps are printed
# anyway. LINLI_HYPOTHESIS_SHRINK=1 shrinks, when a shorter example is worth the wait.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target] + (
    [Phase.shrink] if os.environ.get("LINLI_HYPOTHESIS_SHRINK") else []
)


def test_random_actions_keep_every_order_consistent(cast: Cast) -> None:
    OrderMachine.world = make_world(cast)
    run_state_machine_as_test(
        OrderMachine,
        settings=settings(
            # Some 30 s on SQLite; PostgreSQL's round trips make it half as fast again.
            max_examples=30 if ON_POSTGRES else 50,
            stateful_step_count=40,
            deadline=None,
            database=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# --- what the machine found, kept as plain examples ------------------------------


def test_member_wins_the_slot_offered_to_their_team_when_another_is_offered_first(
    cast: Cast,
) -> None:
    """A two-member order offered slot by slot to two teams of the community.

    A member of the second team accepts: the slot offered to their team is
    theirs to win, whatever was offered to another team before it.
    """
    w = make_world(cast)
    order = services.order_place(
        actor=w.users["guardian"], item="repair_pair", resident_id=w.ward.pk
    )
    d = w.users["dispatcher"]
    services.order_dispatch(actor=d, order_id=order.pk, team_id=w.teams["a2"].pk)
    services.order_dispatch(actor=d, order_id=order.pk, team_id=w.teams["a"].pk)

    slot = services.order_accept(actor=w.users["v1"], order_id=order.pk)  # v1: team a only

    assert (slot.index, slot.member, slot.status) == (2, w.members["v1"], S.ACCEPTED)
    check_order(Order.objects.get(pk=order.pk))
