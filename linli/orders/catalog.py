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

# code, name (and English), icon, description (and English), team kind, skill,
# members needed, deadline overrides
FIXED_ITEMS: list[dict[str, Any]] = [
    {
        "code": "home_repair",
        "name": "家政维修",
        "name_en": "Home repairs",
        "icon": "🔧",
        "team_kind": "convenience",
        "skill": "home_repair",
        "description": "水电维修、家具小修、疏通下水、更换灯泡等。",
        "description_en": "Plumbing and wiring fixes, small furniture repairs, unblocking drains, changing light bulbs.",
    },
    {
        "code": "health_clinic",
        "name": "健康义诊",
        "name_en": "Health check",
        "icon": "🩺",
        "team_kind": "health",
        "skill": "health_clinic",
        "description": "上门量血压、测血糖、健康咨询与用药提醒。",
        "description_en": "Blood pressure and blood sugar checks at home, health advice and medication reminders.",
    },
    {
        "code": "daily_care",
        "name": "生活照料",
        "name_en": "Daily care",
        "icon": "🤝",
        "team_kind": "neighbourly",
        "skill": "daily_care",
        "description": "代买代办、打扫卫生、陪伴照料。",
        "description_en": "Shopping and errands, cleaning, keeping company.",
    },
    {
        "code": "traffic",
        "name": "交通劝导",
        "name_en": "Traffic guidance",
        "icon": "🚸",
        "team_kind": "convenience",
        "skill": "traffic",
        "description": "上学放学时段校门口交通疏导，需要多名队员。",
        "description_en": "Guiding traffic at the school gate when school starts and ends; needs several members.",
        "members_needed": 3,
        "normal_accept_minutes": 1440,
        "scheduled_accept_lead_minutes": 720,
    },
]

OPTIONAL_ITEMS: list[dict[str, Any]] = [
    {
        "code": "birthday",
        "name": "长者生日会",
        "name_en": "Birthday party for elders",
        "icon": "🎂",
        "team_kind": "neighbourly",
        "skill": "companionship",
        "description": "为高龄老人集体过生日。",
        "description_en": "A shared birthday party for the community's oldest residents.",
        "members_needed": 2,
        # Held at the center on a chosen day: no urgency, no home address.
        "form": {
            "when": "date",
            "address": False,
            "fields": [
                {
                    "code": "guests",
                    "type": "number",
                    "label": "来宾人数",
                    "label_en": "Number of guests",
                    "required": True,
                    "min": 1,
                    "max": 200,
                },
                {
                    "code": "celebrants",
                    "type": "text",
                    "label": "寿星姓名",
                    "label_en": "Whose birthday",
                },
            ],
        },
    },
    {
        "code": "opera",
        "name": "牛娘戏剧进社区",
        "name_en": "Niuniang opera in the community",
        "icon": "🎭",
        "team_kind": "neighbourly",
        "skill": "performance",
        "description": "牛娘戏进社区演出、放映。",
        "description_en": "Niuniang opera performances and screenings in the community.",
        "members_needed": 2,
        "form": {
            "when": "date",
            "address": False,
            "fields": [
                {
                    "code": "audience",
                    "type": "number",
                    "label": "观众人数",
                    "label_en": "Audience size",
                    "required": True,
                    "min": 1,
                    "max": 500,
                },
                {
                    "code": "kind",
                    "type": "choice",
                    "label": "形式",
                    "label_en": "Kind",
                    "required": True,
                    "choices": [
                        {"code": "show", "label": "现场演出", "label_en": "Live performance"},
                        {"code": "screening", "label": "放映", "label_en": "Screening"},
                    ],
                },
            ],
        },
    },
    {
        "code": "parent_child",
        "name": "亲子有约",
        "name_en": "Parent and child time",
        "icon": "👨‍👧",
        "team_kind": "neighbourly",
        "skill": "tutoring",
        "description": "亲子阅读、手工与游戏活动。",
        "description_en": "Reading together, crafts and games for parents and children.",
        "form": {
            "when": "date",
            "address": False,
            "fields": [
                {
                    "code": "children",
                    "type": "number",
                    "label": "孩子人数",
                    "label_en": "Children",
                    "required": True,
                    "min": 1,
                    "max": 30,
                },
            ],
        },
    },
]


def _fields(model: Any, spec: dict[str, Any], skills: dict[str, Any]) -> dict[str, Any]:
    """The spec's values for the fields ``model`` has (a migration's model
    may predate some of them)."""
    names = {f.name for f in model._meta.get_fields()}
    out = {k: v for k, v in spec.items() if k in names and k not in ("code", "skill")}
    out["skill"] = skills[spec["skill"]]
    return out


def install_fixed_items(ServiceItem: Any, Skill: Any) -> None:  # noqa: N803 - models passed by migrations
    skills = {s.code: s for s in Skill.objects.all()}
    for order, spec in enumerate(FIXED_ITEMS):
        ServiceItem.objects.update_or_create(
            code=spec["code"],
            defaults={
                **_fields(ServiceItem, spec, skills),
                "fixed": True,
                "community": None,
                "order": order,
            },
        )


def set_optional_forms(ServiceItem: Any) -> None:  # noqa: N803 - models passed by migrations
    """Give the communities' copies of the optional items their forms."""
    for spec in OPTIONAL_ITEMS:
        if "form" in spec:
            ServiceItem.objects.filter(code__startswith=f"{spec['code']}-", fixed=False).update(
                form=spec["form"]
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
                    **_fields(ServiceItem, spec, skills),
                    "fixed": False,
                    "community": community,
                    "order": order,
                },
            )
