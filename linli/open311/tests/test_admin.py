"""The city registers a client in the admin: the key is shown once, kept hashed, revocable."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from linli.core.roles import staff_access_sync
from linli.open311.models import Client
from linli.open311.services import client_for_key
from linli.site.testing import Cast, client_for

pytestmark = pytest.mark.django_db


def test_city_registers_a_client_and_revokes_it(cast: Cast):
    staff_access_sync(cast.city)
    web = client_for(cast.city)
    r = web.post(
        "/admin/open311/client/add/",
        {"name": "12345 热线", "jurisdiction": cast.a.center.pk, "channel": "phone"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    shown = " ".join(str(m) for m in get_messages(r.wsgi_request))
    key = re.search(r"api_key：(\S+)（", shown).group(1)
    client = Client.objects.get()
    assert client.key_hash == Client.hash(key) and key not in client.key_hash
    assert client_for_key(key) == client
    account = client.account
    assert not account.is_active and not account.has_usable_password()
    assert account.role == "dispatcher" and account.community == cast.a.center
    r = web.post(
        "/admin/open311/client/",
        {"action": "revoke", "_selected_action": [client.pk]},
    )
    assert r.status_code == 302
    assert client_for_key(key) is None
    # The dispatcher of a community may not register keys.
    assert client_for(cast.a.dispatcher).get("/admin/open311/client/add/").status_code == 302
