"""Benchmark suggestions for one order through Django (run by hand, not a test).

    python bench/suggestions.py                 # 5,000 members in one community
    python bench/suggestions.py --members 20000 --json

It builds a throwaway SQLite database in a temporary directory (the demo
seed at 0.1% of Cenxi), gives 百花社区 ``--members`` service-team members
with 1-3 of the catalog's skills, spread over about 10 km x 10 km, some of
them busy, places a home-repair order for the demo resident, and times:

* ``suggestions``: :func:`linli.dispatch.services.suggestions_for_order`,
  what the order page and ``GET /api/v1/orders/{id}/suggestions`` call: it
  reads the nearest members with the skill and widens until the top five
  are proven;
* ``everyone``: the same top five from every member of the community
  (:func:`linli.dispatch.gather.gather`, what a batch reads, and
  :func:`linli.dispatch.engine.suggest`).

It prints the median and 95th percentile milliseconds of ``--repeat``
calls, the ratio, how many members the suggestions read, and whether both
give the same five members in the same order.  ``--json`` prints one
object with the same figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sys
import tempfile
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _setup(data_dir: str) -> None:
    os.environ["LINLI_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed", fraction=0.001, verbosity=0, stdout=open(os.devnull, "w"))


def _add_members(n: int, seed: int) -> None:
    from django.contrib.auth import get_user_model

    from linli.network.models import Center
    from linli.teams.models import Member, Skill, Team

    rnd = random.Random(seed)
    center = Center.objects.get(code="baihua")
    team = Team.objects.filter(community=center).first()
    skills = list(Skill.objects.all())
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench-{i}") for i in range(n)]
    )
    week = [[d, "07:00", "22:00"] for d in range(7)]
    members = Member.objects.bulk_create(
        [
            Member(
                team=team,
                user=u,
                source="volunteer",
                lat=(center.lat or 22.92) + rnd.uniform(-0.045, 0.045),
                lon=(center.lon or 110.99) + rnd.uniform(-0.05, 0.05),
                max_concurrent=rnd.choice([2, 3, 4]),
                availability=[] if rnd.random() < 0.6 else week,
            )
            for u in users
        ]
    )
    through = Member.skills.through
    through.objects.bulk_create(
        [
            through(member_id=m.pk, skill_id=s.pk)
            for m in members
            for s in rnd.sample(skills, rnd.randint(1, 3))
        ]
    )


def _times(fn: Any, repeat: int) -> tuple[dict[str, float], Any]:
    out, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        out.append(1000 * (time.perf_counter() - t0))
    ms = np.array(out)
    return {
        "median": round(float(np.median(ms)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
    }, result


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        _setup(data_dir)
        _add_members(args.members, args.seed)
        from django.contrib.auth import get_user_model

        from linli.dispatch import engine, gather, services
        from linli.orders import services as orders
        from linli.teams.models import Member

        User = get_user_model()
        dispatcher = User.objects.get(username="demo-dispatcher")
        resident = User.objects.get(username="demo-resident")
        with contextlib.redirect_stdout(io.StringIO()):  # the demo's console notices
            order = orders.order_place(actor=resident, item="home_repair")
        community = [order.community_id]
        read: list[int] = []
        real_gather = services.gather

        def counting_gather(*a: Any, **kw: Any) -> Any:
            inputs = real_gather(*a, **kw)
            read.append(len(inputs.members))
            return inputs

        services.gather = counting_gather
        if args.first:
            services.SUGGEST_FIRST = args.first

        def fast() -> list[int]:
            read.clear()
            [slot] = services.suggestions_for_order(dispatcher, order.pk)
            return [c.member.pk for c in slot.candidates]

        def everyone() -> list[int]:
            slots = [s for s in gather.open_slots(community) if s.order_id == order.pk]
            inputs = gather.gather(slots, community)
            got = engine.suggest(
                0, inputs.slots, inputs.members, gather.weights(), excluded=inputs.excluded
            )
            return [c.member_id for c in got.candidates]

        fast()  # warm the connection and the code paths
        fast_ms, fast_top = _times(fast, args.repeat)
        all_ms, all_top = _times(everyone, max(3, args.repeat // 5))
        in_community = Member.objects.filter(team__community_id__in=community).count()
        return {
            "members_in_community": in_community,
            "suggestions_ms": fast_ms,
            "everyone_ms": all_ms,
            "everyone_over_suggestions": all_ms["median"] / fast_ms["median"],
            "members_read": sum(read),
            "same_top_five": fast_top == all_top,
        }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=5000, help="members added to 百花社区")
    ap.add_argument("--repeat", type=int, default=50, help="timed calls (the everyone path: 1/5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--first", type=int, default=None, help="members read first (default: the service's)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    out = run(args)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    f, a = out["suggestions_ms"], out["everyone_ms"]
    print(f"{out['members_in_community']} members in the order's community")
    print(
        f"suggestions  median {f['median']:8.2f} ms  p95 {f['p95']:8.2f} ms  "
        f"(read {out['members_read']} members)"
    )
    print(f"everyone     median {a['median']:8.2f} ms  p95 {a['p95']:8.2f} ms")
    print(f"everyone / suggestions: {out['everyone_over_suggestions']:.1f}x")
    print(f"same top five: {out['same_top_five']}")


if __name__ == "__main__":
    main()
