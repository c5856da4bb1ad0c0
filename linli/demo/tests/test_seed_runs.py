"""Running ``linli seed`` on an empty database: determinism, options, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError
from django.db import transaction

from linli.core.models import User
from linli.demo.tests.helpers import fingerprint, seed
from linli.network.models import Center
from linli.people import ages
from linli.people.models import Resident

AS_OF = dt.date(2026, 3, 1)
SMALL = "0.002"  # ~1,450 people: enough to exercise every household shape


def seeded_fingerprint(*args: str) -> str:
    with transaction.atomic():
        seed(*args)
        result = fingerprint()
        transaction.set_rollback(True)
    return result


# -- determinism ---------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_and_day_give_the_same_data(fast_hashing: None) -> None:
    args = ("--fraction", SMALL, "--seed", "7", "--as-of", AS_OF.isoformat())
    first = seeded_fingerprint(*args)
    assert Center.objects.count() == 0  # rolled back: the second run starts clean
    assert seeded_fingerprint(*args) == first


@pytest.mark.django_db
def test_a_different_seed_gives_different_people(fast_hashing: None) -> None:
    day = ("--fraction", SMALL, "--as-of", AS_OF.isoformat())
    assert seeded_fingerprint("--seed", "1", *day) != seeded_fingerprint("--seed", "2", *day)


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database(fast_hashing: None) -> None:
    with transaction.atomic():
        seed("--if-empty", "--fraction", SMALL)
        assert Center.objects.count() > 20 and User.objects.filter(username="demo-city").exists()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("fraction", ["0", "-0.1", "1.5"])
def test_fraction_must_be_a_share(fraction: str) -> None:
    with pytest.raises(CommandError):
        seed("--fraction", fraction)
    assert not Center.objects.exists()


@pytest.mark.django_db
def test_as_of_sets_the_day_ages_are_counted_on(fast_hashing: None) -> None:
    with transaction.atomic():
        seed("--fraction", SMALL, "--as-of", AS_OF.isoformat())
        resident = Resident.objects.get(account__username="demo-resident")
        assert resident.birth_date == dt.date(1946, 3, 1)
        total = Resident.objects.count()
        children = Resident.objects.filter(ages.birth_date_q(ages.CHILD, on=AS_OF)).count()
        assert children / total * 100 == pytest.approx(29.86, abs=0.1)
        transaction.set_rollback(True)
