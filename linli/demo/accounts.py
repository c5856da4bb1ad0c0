"""One sign-in per role in 百花社区, for trying the demo."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from linli.core.models import User
from linli.core.roles import Role, staff_access_sync
from linli.network.models import Center

# Published in the README on purpose: these accounts exist to be tried.
DEMO_PASSWORD = "linli-demo"
DEMO_COMMUNITY = "baihua"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    name: str
    community: str | None


DEMO_ACCOUNTS = (
    # 曾庆宝 is the 百花 resident the article quotes on the opera screenings.
    DemoAccount("demo-resident", Role.RESIDENT, "曾庆宝", DEMO_COMMUNITY),
    DemoAccount("demo-volunteer", Role.VOLUNTEER, "梁志强", DEMO_COMMUNITY),
    DemoAccount("demo-leader", Role.LEADER, "覃丽萍", DEMO_COMMUNITY),
    DemoAccount("demo-dispatcher", Role.DISPATCHER, "黄秀玲", DEMO_COMMUNITY),
    DemoAccount("demo-school", Role.SCHOOL, "莫文静", DEMO_COMMUNITY),
    DemoAccount("demo-city", Role.CITY, "周建华", None),
)
USERNAMES = frozenset(a.username for a in DEMO_ACCOUNTS)


def demo_accounts_create(communities: dict[str, Center]) -> dict[str, User]:
    """Create the six accounts with the published password; keyed by username."""
    users: dict[str, User] = {}
    for account in DEMO_ACCOUNTS:
        user = User(
            username=account.username,
            role=account.role,
            community=communities[account.community] if account.community else None,
            first_name=account.name,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        # The city account keeps the master data in the admin site as staff
        # with the city group's permissions, not as a superuser.
        staff_access_sync(user)
        users[account.username] = user
    return users


def demo_accounts_table() -> list[tuple[str, str, str, str]]:
    """(username, role, name, community) of the demo accounts that exist, in role order."""
    found = {
        u.username: u
        for u in User.objects.filter(username__in=USERNAMES).select_related("community")
    }
    rows = []
    for account in DEMO_ACCOUNTS:
        user = found.get(account.username)
        if user is None:
            continue
        community = user.community.name if user.community else _("全市")
        rows.append((user.username, str(Role(user.role).label), user.first_name, community))
    return rows
