"""The service catalog's standard entries.

The four fixed items are city-wide and come with the database (a data
migration); the optional items of the article are offered by communities that
choose them (the demo seed gives them to every community).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linli.network.models import Center

# code, name, icon, description, team kind, skill, members needed, deadline overrides
FIXED_ITEMS: list[dict[str, Any]] = [
    {
        "code": "home_repair",
        "name": "家政维修",
        "icon": "🔧",
        "team_kind": "convenience",
        "skill": "home_repair",
        "description": "水电维修、家具小修、疏通下水、更换灯泡等。",
    },
    {
        "code": "health_clinic",
        "name": "健康义诊",
        "icon": "🩺",
        "team_kind": "health",
        "skill": "health_clinic",
        "description": "上门量血压、测血糖、健康咨询与用药提醒。",
    },
    {
        "code": "daily_care",
        "name": "生活照料",
        "icon": "🤝",
        "team_kind": "neighbourly",
        "skill": "daily_care",
        "description": "代买代办、打扫卫生、陪伴照料。",
    },
    {
        "code": "traffic",
        "name": "交通劝导",
        "icon": "🚸",
        "team_kind": "convenience",
        "skill": "traffic",
        "description": "上学放学时段校门口交通疏导,需要多名队员。",
        "members_needed": 3,
        "normal_accept_minutes": 1440,
        "scheduled_accept_lead_minutes": 720,
    },
]

OPTIONAL_ITEMS: list[dict[str, Any]] = [
    {
        "code": "birthday",
        "name": "长者生日会",
        "icon": "🎂",
        "team_kind": "neighbourly",
        "skill": "companionship",
        "description": "为高龄老人集体过生日。",
        "members_needed": 2,
    },
    {
        "code": "opera",
        "name": "牛娘戏剧进社区",
        "icon": "🎭",
        "team_kind": "neighbourly",
        "skill": "performance",
        "description": "牛娘戏进社区演出、放映。",
        "members_needed": 2,
    },
    {
        "code": "parent_child",
        "name": "亲子有约",
        "icon": "👨‍👧",
        "team_kind": "neighbourly",
        "skill": "tutoring",
        "description": "亲子阅读、手工与游戏活动。",
    },
]


def _fields(spec: dict[str, Any], skills: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in spec.items() if k not in ("code", "skill")}
    out["skill"] = skills[spec["skill"]]
    return out


def install_fixed_items(ServiceItem: Any, Skill: Any) -> None:  # noqa: N803 - models passed by migrations
    skills = {s.code: s for s in Skill.objects.all()}
    for order, spec in enumerate(FIXED_ITEMS):
        ServiceItem.objects.update_or_create(
            code=spec["code"],
            defaults={**_fields(spec, skills), "fixed": True, "community": None, "order": order},
        )


def install_optional_items(communities: Iterable[Center]) -> None:
    """Give each community its own copy of the article's optional items."""
    from linli.orders.models import ServiceItem
    from linli.teams.models import Skill

    skills = {s.code: s for s in Skill.objects.all()}
    for community in communities:
        for order, spec in enumerate(OPTIONAL_ITEMS, start=10):
            ServiceItem.objects.update_or_create(
                code=f"{spec['code']}-{community.code}"[:32],
                defaults={
                    **_fields(spec, skills),
                    "fixed": False,
                    "community": community,
                    "order": order,
                },
            )
