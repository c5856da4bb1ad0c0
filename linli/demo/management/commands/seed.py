"""``linli seed --scale cenxi [--fraction F] [--seed N] [--as-of YYYY-MM-DD] [--if-empty]``."""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import AppError
from linli.demo.accounts import DEMO_PASSWORD, demo_accounts_table
from linli.demo.population import TAGS
from linli.demo.services import (
    DEFAULT_FRACTION,
    DEFAULT_SEED,
    SCALES,
    SeedResult,
    demo_is_seeded,
    demo_seed,
)
from linli.orders import rollups
from linli.people.models import CareTag

GROUPS = (
    ("child", gettext_lazy("0–14 岁")),
    ("elderly", gettext_lazy("60 岁及以上")),
    ("aged", gettext_lazy("80 岁及以上")),
)


class Command(BaseCommand):
    help = (
        "Fill an empty database with the demo city: Cenxi's 1+19+N centers, residents at a "
        "fraction of its population, service teams and one demo account per role "
        "(password linli-demo). Same seed and as-of day, same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", choices=SCALES, default="cenxi", help="the city to build (only cenxi)"
        )
        parser.add_argument(
            "--fraction",
            type=float,
            default=DEFAULT_FRACTION,
            help="share of the 723,000 people to create (default 0.01, about 7,200; 1.0 is the whole city)",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (default 1)"
        )
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="day the ages are counted on, YYYY-MM-DD (default today); fix it to reproduce a run",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (but list the demo accounts) when the database already has centers",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["if_empty"] and demo_is_seeded():
            self.stdout.write(_("数据库中已有数据，未生成演示数据。"))
            self._accounts()
            return
        started = time.perf_counter()
        try:
            result = demo_seed(
                scale=opts["scale"],
                seed=opts["seed"],
                fraction=opts["fraction"],
                as_of=opts["as_of"],
            )
        except AppError as exc:
            raise CommandError(exc.message) from exc
        # The seeded history marked its days for the indicators' rollup: build it whole.
        rollups.rebuild()
        self._summary(result, time.perf_counter() - started)
        self._accounts()

    def _summary(self, r: SeedResult, seconds: float) -> None:
        net, pop, teams = r.network, r.population, r.teams
        n = pop.residents or 1
        groups = {
            "child": pop.by_group["child"],
            "elderly": pop.by_group["elder"] + pop.by_group["aged"],
            "aged": pop.by_group["aged"],
        }
        tag_names = dict(CareTag.objects.values_list("code", "name"))
        w = self.stdout.write
        w(
            self.style.SUCCESS(
                _(
                    "已生成岑溪市演示数据（随机种子 %(seed)s，人口比例 %(fraction)s，年龄按 %(as_of)s 计算），用时 %(seconds).1f 秒："
                )
                % {
                    "seed": r.seed,
                    "fraction": f"{r.fraction:g}",
                    "as_of": r.as_of.isoformat(),
                    "seconds": seconds,
                }
            )
        )
        w(
            _(
                "  服务中心 %(centers)s 个：市级 1 个，社区 %(communities)s 个，小区和商圈 %(subs)s 个"
            )
            % {
                "centers": net.centers,
                "communities": len(net.communities),
                "subs": net.centers - 1 - len(net.communities),
            }
        )
        w(
            _("  功能室 %(rooms)s 间，共 %(area)s 平方米（中心总面积 %(floor)s 平方米）")
            % {
                "rooms": net.rooms,
                "area": f"{net.rooms_area:,.0f}",
                "floor": f"{net.floor_area:,.0f}",
            }
        )
        w(
            _("  居民 %(residents)s 人，%(households)s 户，监护关系 %(links)s 条")
            % {
                "residents": f"{pop.residents:,}",
                "households": f"{pop.households:,}",
                "links": f"{pop.guardianships:,}",
            }
        )
        w(
            "    "
            + " · ".join(
                _("%(label)s %(count)s 人（%(share).2f%%）")
                % {"label": label, "count": f"{groups[key]:,}", "share": 100 * groups[key] / n}
                for key, label in GROUPS
            )
        )
        w(
            _("  关爱标签：%(tags)s")
            % {
                "tags": " · ".join(
                    f"{tag_names.get(code, code)} {count:,}"
                    for code, count in sorted(pop.by_tag.items(), key=lambda kv: _tag_order(kv[0]))
                )
            }
        )
        w(
            _(
                "  服务队 %(teams)s 支，队员 %(members)s 人（%(linked)s 人是本社区居民），队长 %(leaders)s 人"
            )
            % {
                "teams": teams.teams,
                "members": teams.members,
                "linked": teams.with_resident,
                "leaders": teams.leaders,
            }
        )
        w(
            _("  %(community)s点单 %(placed)s 张（已评价 %(rated)s 张）")
            % {"community": "百花社区", "placed": r.orders.placed, "rated": r.orders.rated}
        )
        w(
            _(
                "  活动 %(activities)s 个，场次 %(sessions)s 场（已举行 %(held)s 场），报名 %(signups)s 人次，签到 %(attended)s 人次"
            )
            % {
                "activities": r.season.activities,
                "sessions": r.season.sessions,
                "held": r.season.held,
                "signups": r.season.signups,
                "attended": r.season.attended,
            }
        )

    def _accounts(self) -> None:
        rows = demo_accounts_table()
        if not rows:
            return
        w = self.stdout.write
        w("")
        w(
            self.style.SUCCESS(
                _("演示账号（密码均为 %(password)s）：") % {"password": DEMO_PASSWORD}
            )
        )
        headers = (_("账号"), _("角色"), _("姓名"), _("社区"))
        table = [headers, *rows]
        widths = [max(_width(row[i]) for row in table) for i in range(len(headers))]
        for row in table:
            w(
                "  "
                + "  ".join(
                    _pad(cell, width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _tag_order(code: str) -> int:
    return TAGS.index(code) if code in TAGS else len(TAGS)
