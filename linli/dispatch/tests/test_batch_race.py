"""A batch racing a manual dispatch of the same slot never dispatches it twice."""

from __future__ import annotations

from linli.core.errors import AppError
from linli.dispatch.services import batch_dispatch
from linli.orders import services as orders
from linli.orders.models import OrderEvent, Slot, SlotStatus
from linli.site.testing import RACE_MARKS, make_user, race
from linli.teams.models import Member, Skill

pytestmark = RACE_MARKS


def test_batch_racing_manual_dispatch_never_double_dispatches(cast):
    extra = []
    for i in range(4):
        user = make_user(f"racer{i}", "volunteer", cast.a.center, f"队员{i}")
        m = Member.objects.create(
            team=cast.a.team, user=user, source="volunteer", lat=22.92, lon=110.99
        )
        m.skills.add(Skill.objects.get(code="home_repair"))
        extra.append(m)
    for _round in range(5):
        placed = [orders.order_place(actor=cast.a.resident, item="home_repair") for _ in range(4)]

        def batch():
            return batch_dispatch(actor=cast.a.dispatcher, community=cast.a.center, dry_run=False)

        def manual(order_id: int, member: Member):
            def call():
                try:
                    return orders.order_dispatch(
                        actor=cast.a.dispatcher, order_id=order_id, member_id=member.pk
                    )
                except AppError as exc:
                    return exc

            return call

        results = race([batch, *(manual(o.pk, extra[i]) for i, o in enumerate(placed))])
        plan = results[0]
        assert not isinstance(plan, Exception), plan
        for o in placed:
            slot = Slot.objects.get(order=o)
            dispatches = OrderEvent.objects.filter(order=o, action="dispatch").count()
            # One dispatch per slot, whoever won; the loser was refused, not applied.
            assert slot.status == SlotStatus.ASSIGNED and dispatches == 1
        manual_wins = sum(1 for r in results[1:] if not isinstance(r, Exception))
        assert manual_wins + plan.applied == len(placed)
        for o in placed:
            orders.order_cancel(actor=cast.a.dispatcher, order_id=o.pk, reason="测试结束")
