"""The one contact function: every in-person meeting is recorded once, through it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.people.models import Contact
from linli.people.services import contact_record, contact_withdraw
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db


def test_a_meeting_reported_twice_is_recorded_once(cast: Cast) -> None:
    at = timezone.now() - dt.timedelta(hours=1)
    for _ in range(2):
        contact_record(
            resident_id=cast.a.person.pk,
            kind=Contact.Kind.VISIT,
            at=at,
            source="test:1",
            by=cast.a.volunteer,
        )
    contact = Contact.objects.get()
    assert (contact.resident, contact.kind, contact.at, contact.by) == (
        cast.a.person,
        Contact.Kind.VISIT,
        at,
        cast.a.volunteer,
    )


def test_two_meetings_are_two_contacts_and_one_can_be_withdrawn(cast: Cast) -> None:
    now = timezone.now()
    contact_record(resident_id=cast.a.person.pk, kind="meal", at=now, source="test:1")
    contact_record(resident_id=cast.a.person.pk, kind="activity", at=now, source="test:2")
    contact_withdraw(resident_id=cast.a.person.pk, source="test:1")
    assert list(Contact.objects.values_list("source", flat=True)) == ["test:2"]


def test_an_unknown_kind_is_a_programming_error(cast: Cast) -> None:
    with pytest.raises(ValueError):
        contact_record(resident_id=cast.a.person.pk, kind="phone", at=timezone.now(), source="x")
