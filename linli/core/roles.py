"""The six roles and what each may do.

Every permission question in linli is answered here, so that a view never
carries its own idea of who may see what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from linli.core.models import User


class Role(models.TextChoices):
    RESIDENT = "resident", pgettext_lazy("role", "居民")
    VOLUNTEER = "volunteer", _("志愿者")
    LEADER = "leader", _("队长")
    DISPATCHER = "dispatcher", _("派单员")
    SCHOOL = "school", _("学校管理员")
    CITY = "city", _("市级管理员")


# Roles that act for one community and must have one.
COMMUNITY_ROLES = frozenset({Role.DISPATCHER, Role.LEADER, Role.VOLUNTEER, Role.SCHOOL})
# Staff roles that manage residents of their community (or all, for the city).
RESIDENT_VIEWERS = frozenset({Role.DISPATCHER, Role.LEADER, Role.CITY})
# Roles that may see a masked field unmasked, one reveal at a time, audited.
REVEALERS = frozenset({Role.DISPATCHER, Role.CITY})


def may_reveal(user: object) -> bool:
    """May ``user`` see a resident's masked field in full (one audited reveal at a
    time)? The one rule for the resident page, its API and the people service;
    the admin adds IT's superusers."""
    return (
        bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", None) in REVEALERS
    )


# Roles that may set a new password for a resident who forgot theirs (at the
# desk); people.permissions.may_reset_password says for whom.
PASSWORD_RESETTERS = frozenset({Role.DISPATCHER, Role.CITY})
# Roles whose accounts the desk may reset; staff accounts are kept in the admin.
DESK_RESETTABLE = frozenset({Role.RESIDENT, Role.VOLUNTEER})

# Roles that may import residents from a spreadsheet.
IMPORTERS = frozenset({Role.DISPATCHER, Role.CITY})
# Roles that may look up team members (to dispatch, lead or oversee).
MEMBER_VIEWERS = frozenset({Role.DISPATCHER, Role.LEADER, Role.CITY})

# The city role keeps the master data in the admin site: staff, never superuser
# (a superuser is for IT operations). Its permissions are one group's, kept in
# step with this table after every migrate (CoreConfig.ready). Keys are
# "app_label.model"; values the admin actions allowed on it.
CITY_GROUP = "city-admin"
_ALL = ("view", "add", "change", "delete")
CITY_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "network.center": _ALL,
    "network.room": _ALL,
    "network.function": _ALL,
    "network.openinghours": _ALL,
    "network.closure": ("view", "add", "delete"),
    "network.occupancy": ("view",),
    "activities.kind": _ALL,
    "activities.activity": ("view",),
    "activities.session": ("view",),
    "activities.signup": ("view",),
    "teams.team": _ALL,
    "teams.member": _ALL,
    "teams.skill": _ALL,
    "people.caretag": _ALL,
    "people.resident": _ALL,
    "people.household": _ALL,
    "people.guardianship": _ALL,
    "orders.serviceitem": _ALL,
    "orders.order": ("view",),
    "dispatch.dispatchpolicy": _ALL,
    "open311.client": ("view", "add", "change"),
    "core.user": _ALL,
    "core.apitoken": ("view", "change"),
    "core.auditlog": ("view",),
}


def city_group_sync(**_kwargs: object) -> None:
    """Create or update the city group to hold exactly CITY_PERMISSIONS' permissions.

    Idempotent; connected to post_migrate, so permissions of models that are
    not migrated yet are picked up by a later call.
    """
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    wanted = Q(pk__in=[])
    for label, actions in CITY_PERMISSIONS.items():
        app_label, model = label.split(".")
        wanted |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{a}_{model}" for a in actions],
        )
    group, _created = Group.objects.get_or_create(name=CITY_GROUP)
    group.permissions.set(Permission.objects.filter(wanted))


def staff_access_sync(user: User) -> None:
    """Give the city role staff access through the city group; take it from other roles.

    Call after the user is saved. Superusers (IT operations) keep their staff flag.
    """
    from django.contrib.auth.models import Group

    is_city = user.role == Role.CITY
    staff = is_city or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    group = Group.objects.filter(name=CITY_GROUP).first()
    if group is None:
        city_group_sync()
        group = Group.objects.get(name=CITY_GROUP)
    if is_city:
        user.groups.add(group)
    else:
        user.groups.remove(group)
