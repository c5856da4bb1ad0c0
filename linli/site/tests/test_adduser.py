from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from linli.core.models import User


def test_adduser_creates_dispatcher_in_community(cast):
    call_command("adduser", "wang", role="dispatcher", community="baihua", password="s3cure-pass-9")
    user = User.objects.get(username="wang")
    assert user.role == "dispatcher"
    assert user.community == cast.a.center
    assert user.password.startswith("argon2")
    assert check_password("s3cure-pass-9", user.password)


def test_adduser_city_admin_has_no_community(cast):
    call_command("adduser", "li", role="city", password="s3cure-pass-9")
    assert User.objects.get(username="li").community is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "dispatcher", "password": "s3cure-pass-9"}, "needs --community"),
        (
            {"role": "dispatcher", "community": "nowhere", "password": "s3cure-pass-9"},
            "no community",
        ),
        ({"role": "city", "community": "baihua", "password": "s3cure-pass-9"}, "leave out"),
        ({"role": "resident", "password": "123"}, "short"),
    ],
)
def test_adduser_refuses_bad_input(cast, kwargs, message):
    with pytest.raises(CommandError, match=message):
        call_command("adduser", "zhao", **kwargs)
    assert not User.objects.filter(username="zhao").exists()


def test_adduser_refuses_existing_username(cast):
    with pytest.raises(CommandError, match="already exists"):
        call_command("adduser", "city-admin", role="city", password="s3cure-pass-9")


def test_adduser_city_is_staff_through_the_group_not_superuser(cast):
    from linli.core.roles import CITY_GROUP

    call_command("adduser", "li", role="city", password="s3cure-pass-9")
    user = User.objects.get(username="li")
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name=CITY_GROUP).exists()


def test_adduser_superuser_only_on_request(cast):
    call_command("adduser", "it", role="city", password="s3cure-pass-9", superuser=True)
    assert User.objects.get(username="it").is_superuser
    call_command("adduser", "wu", role="dispatcher", community="baihua", password="s3cure-pass-9")
    wu = User.objects.get(username="wu")
    assert not wu.is_staff and not wu.is_superuser
