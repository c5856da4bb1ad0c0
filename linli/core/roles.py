"""The six roles and what each may do.

Every permission question in linli is answered here, so that a view never
carries its own idea of who may see what.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
# Roles that may import residents from a spreadsheet.
IMPORTERS = frozenset({Role.DISPATCHER, Role.CITY})
# Roles that may look up team members (to dispatch, lead or oversee).
MEMBER_VIEWERS = frozenset({Role.DISPATCHER, Role.LEADER, Role.CITY})
