from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from linli.core.masking import mask_address, mask_id_number, mask_phone
from linli.core.roles import RESIDENT_VIEWERS
from linli.core.scoping import get_scoped, require_role, scope
from linli.people import ages
from linli.people.models import Resident

if TYPE_CHECKING:
    from linli.core.models import User

PINYIN_QUERY = re.compile(r"^[a-z]+$")
MASKABLE = ("phone", "id_number", "address")


def search_q(q: str) -> Q:
    """Name, pinyin initials (``zqb``), full pinyin, or the phone's last four digits."""
    q = q.strip()
    if not q:
        return Q()
    lowered = q.lower().replace(" ", "")
    cond = Q(name__contains=q)
    if PINYIN_QUERY.match(lowered):
        cond |= Q(name_initials__startswith=lowered) | Q(name_pinyin__startswith=lowered)
    if q.isdigit() and len(q) == 4:
        cond |= Q(phone_tail=q)
    return cond


def resident_list(
    user: User,
    *,
    q: str = "",
    age_group: str = "",
    tag: str = "",
    community: int | None = None,
) -> QuerySet[Resident]:
    """Residents the user may see, filtered. Raises Forbidden for other roles."""
    require_role(user, RESIDENT_VIEWERS)
    qs = scope(user, Resident.objects.all())
    if q:
        qs = qs.filter(search_q(q))
    if age_group in ages.BY_CODE:
        qs = qs.filter(ages.birth_date_q(ages.BY_CODE[age_group]))
    if tag:
        qs = qs.filter(care_tags__code=tag)
    if community:
        qs = qs.filter(community_id=community)
    return qs.select_related("community").prefetch_related("care_tags").order_by("name", "pk")


def resident_get(user: User, pk: int) -> Resident:
    require_role(user, RESIDENT_VIEWERS)
    return get_scoped(
        user,
        Resident.objects.select_related("community", "household", "account").prefetch_related(
            "care_tags", "guardian_links__guardian", "ward_links__ward"
        ),
        pk=pk,
    )


@dataclass(frozen=True)
class MaskedResident:
    """What a staff member sees of a resident: contact data masked."""

    resident: Resident

    @property
    def phone(self) -> str:
        return mask_phone(self.resident.phone)

    @property
    def id_number(self) -> str:
        return mask_id_number(self.resident.id_number)

    @property
    def address(self) -> str:
        return mask_address(self.resident.address)


def masked_value(resident: Resident, field: str) -> str:
    return getattr(MaskedResident(resident), field)


def account_for_reset(who: str) -> User | None:
    """The account a "forgot my password" request names, or None.

    ``who`` is a username or a phone number; the account must be active
    (and no superuser) with a resident record that has a phone, for the
    code goes there. A phone shared by several accounts names none of them
    (the person is asked for the username instead, in the page's one answer).
    """
    who = who.strip()
    if not who:
        return None
    linked = Resident.objects.exclude(phone="").filter(
        account__is_active=True, account__is_superuser=False
    )
    by_name = linked.filter(account__username=who).select_related("account").first()
    if by_name is not None:
        return by_name.account
    phone = re.sub(r"[\s-]", "", who)
    if not phone.isdigit():
        return None
    matches = list(linked.filter(Q(phone=phone) | Q(phone=who)).select_related("account")[:2])
    return matches[0].account if len(matches) == 1 else None
