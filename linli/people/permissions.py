"""Who may do what to a resident's record and account: one predicate per decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from linli.core.roles import DESK_RESETTABLE, PASSWORD_RESETTERS, Role
from linli.core.rules import ALLOWED, Verdict, refuse

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.people.models import Resident


def may_reset_password(actor: User, resident: Resident) -> Verdict:
    """May ``actor`` set a new password for ``resident``'s account (at the desk)?

    A dispatcher for the residents of their community, the city admin for
    every community; only residents' and volunteers' accounts (staff
    accounts are kept in the admin). The resident page's button and
    ``people.services.resident_password_reset`` both ask here.
    """
    if not actor.is_authenticated or actor.role not in PASSWORD_RESETTERS:
        return refuse(_("您的角色无权重置居民的密码。"), "forbidden")
    if actor.role != Role.CITY and resident.community_id != actor.community_id:
        return refuse(_("只能重置本社区居民的密码。"), "forbidden")
    account = resident.account
    if account is None:
        return refuse(_("这位居民还没有账号。"))
    if account.is_staff or account.is_superuser or account.role not in DESK_RESETTABLE:
        return refuse(_("工作人员的账号请由市级管理员在管理后台重置密码。"))
    if not account.is_active:
        return refuse(_("这个账号已停用。"))
    return ALLOWED
