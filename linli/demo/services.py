"""Seeding the demo: Cenxi's network, residents, teams and the demo accounts.

``demo_seed()`` is deterministic: the same seed, fraction and as-of day give
the same rows, byte for byte, apart from what the database or Django stamps
on its own (primary keys, ``created_at``/``updated_at``, ``date_joined``, and
the random salt in password hashes). Each part draws from its own random
stream (``linli-demo:<seed>:network``, ``…:people:<community>``, ``…:teams:<community>``),
so that a larger fraction changes the residents but not the network.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, InvalidInput
from linli.core.models import User
from linli.demo.accounts import DEMO_ACCOUNTS, USERNAMES, demo_accounts_create
from linli.demo.network import Network, network_build
from linli.demo.orders import OrderStats, demo_orders_build
from linli.demo.population import TAGS, Pin, PopulationStats, population_build
from linli.demo.season import SeasonStats, season_build
from linli.demo.teams import TEAM_SKILLS, Featured, TeamStats, teams_build
from linli.network.models import Center, Function
from linli.orders.catalog import install_optional_items
from linli.people import ages
from linli.people.models import CareTag
from linli.teams.models import Skill

SCALES = ("cenxi",)
DEFAULT_SEED = 1
DEFAULT_FRACTION = 0.01


@dataclass
class SeedResult:
    seed: int
    fraction: float
    as_of: dt.date
    network: Network
    population: PopulationStats
    teams: TeamStats
    orders: OrderStats
    season: SeasonStats


def demo_is_seeded() -> bool:
    """Whether the database already holds a network (seeded or real)."""
    return Center.objects.exists()


def demo_seed(
    *,
    scale: str = "cenxi",
    seed: int = DEFAULT_SEED,
    fraction: float = DEFAULT_FRACTION,
    as_of: dt.date | None = None,
) -> SeedResult:
    """Fill an empty database with the demo city, in one transaction.

    ``fraction`` is the share of Cenxi's 723,000 people to create (0.01 by
    default); ages are as of ``as_of``, today's local date unless given.
    Raises Conflict when the database already has centers or the accounts'
    names are taken: the demo never mixes with real data.
    """
    if scale not in SCALES:
        raise InvalidInput(_("未知的演示规模：%(scale)s。") % {"scale": scale})
    if not 0 < fraction <= 1:
        raise InvalidInput(_("人口比例必须大于 0 且不超过 1。"))
    as_of = as_of or ages.today()
    with transaction.atomic():
        _check_empty()
        network = network_build(random.Random(f"linli-demo:{seed}:network"))
        users = demo_accounts_create({c.center.code: c.center for c in network.communities})
        resident_account = next(a for a in DEMO_ACCOUNTS if a.username == "demo-resident")
        pins = [
            # The demo resident turns 80 on the as-of day, lives alone, and has a grown-up
            # child in the community who can order for him.
            Pin(
                key="demo-resident",
                community=str(resident_account.community),
                name=resident_account.name,
                gender="M",
                age=80,
                household="alone",
                exact_birthday=True,
                account=users["demo-resident"],
            ),
            # From the article: the retired cadre of 兴业's silver team who pairs with three aged.
            Pin(
                key="gan-aihua",
                community="xingye",
                name="甘爱华",
                gender="F",
                age=63,
                household="couple",
            ),
            # From the article: the 67-year-old calligrapher who teaches at the city center.
            Pin(
                key="li-lichang",
                community="chengzhong",
                name="李立昌",
                gender="M",
                age=67,
                household="couple",
            ),
        ]
        population, pinned = population_build(
            seed=seed, fraction=fraction, as_of=as_of, network=network, pins=pins
        )
        gan_aihua = pinned["gan-aihua"].resident
        assert gan_aihua is not None  # written by population_build
        featured = [Featured(community="xingye", resident=gan_aihua)]
        teams = teams_build(
            seed=seed, as_of=as_of, network=network, demo_users=users, featured=featured
        )
        # The article's optional items (长者生日会, 牛娘戏剧进社区, 亲子有约) in every community.
        install_optional_items(c.center for c in network.communities)
        orders = demo_orders_build(random.Random(f"linli-demo:{seed}:orders"), "baihua")
        season = season_build(random.Random(f"linli-demo:{seed}:season"))
    return SeedResult(
        seed=seed,
        fraction=fraction,
        as_of=as_of,
        network=network,
        population=population,
        teams=teams,
        orders=orders,
        season=season,
    )


def _check_empty() -> None:
    if Center.objects.exists():
        raise Conflict(
            _(
                "数据库中已有服务中心，演示数据只能写入空数据库。请换一个新数据库（例如删除 data/linli.sqlite3 后重新 migrate），或加 --if-empty 跳过。"
            )
        )
    taken = list(
        User.objects.filter(
            Q(username__in=USERNAMES) | Q(username__startswith="m-") | Q(username__startswith="l-")
        ).values_list("username", flat=True)[:5]
    )
    if taken:
        raise Conflict(
            _("演示账号需要的用户名已被占用：%(names)s。请使用新的数据库。")
            % {"names": ", ".join(taken)}
        )
    # The generator names these codes; a city may add others but must keep them.
    needs = (
        (_("关爱标签"), CareTag, set(TAGS)),
        (_("技能"), Skill, {code for codes in TEAM_SKILLS.values() for code in codes}),
    )
    missing = []
    for label, model, codes in needs:
        absent = codes - set(model.objects.values_list("code", flat=True))
        if absent:
            missing.append(f"{label} {', '.join(sorted(absent))}")
    if not Function.objects.filter(fixed=False).exists():
        missing.append(str(_("中心功能")))
    if missing:
        raise Conflict(
            _("缺少基础数据（%(what)s）：请先运行 migrate。") % {"what": ";".join(missing)}
        )
