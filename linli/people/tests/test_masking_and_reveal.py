from __future__ import annotations

from django.urls import reverse

from linli.core.masking import mask_address, mask_id_number, mask_phone
from linli.core.models import AuditLog
from linli.core.services import token_issue
from linli.site.testing import client_for


def test_mask_helpers():
    assert mask_phone("13807711234") == "138****1234"
    assert mask_id_number("450481194403051234") == "450481**********34"
    assert mask_address("岑溪市岑城镇百花路12号3栋201") == "岑溪市岑城镇百花路***"
    assert mask_phone("") == mask_id_number("") == mask_address("") == ""


def test_list_and_detail_show_masked_data(cast):
    client = client_for(cast.a.dispatcher)
    resident = cast.a.person
    for url in (reverse("people:list"), reverse("people:detail", args=[resident.pk])):
        html = client.get(url).content.decode()
        assert resident.phone not in html
        assert mask_phone(resident.phone) in html
        assert resident.id_number not in html
    assert not AuditLog.objects.exists()


def test_api_masks_for_staff(cast):
    client = client_for(cast.a.leader)
    r = client.get(
        "/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.leader)}"
    )
    item = r.json()["items"][0]
    assert item["phone"] == mask_phone(cast.a.person.phone)
    assert item["id_number"] == mask_id_number(cast.a.person.id_number)
    assert item["address"].endswith("***")


def test_reveal_on_page_writes_audit_entry(cast):
    client = client_for(cast.a.dispatcher)
    resident = cast.a.person
    r = client.post(reverse("people:reveal", args=[resident.pk, "phone"]), REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 200
    assert resident.phone in r.content.decode()
    entry = AuditLog.objects.get()
    assert (entry.actor, entry.action, entry.field) == (cast.a.dispatcher, "reveal", "phone")
    assert (entry.target_type, entry.target_id, entry.ip) == (
        "people.resident",
        resident.pk,
        "10.1.2.3",
    )


def test_reveal_refused_for_leader_and_other_community(cast):
    resident = cast.a.person
    assert (
        client_for(cast.a.leader)
        .post(reverse("people:reveal", args=[resident.pk, "phone"]))
        .status_code
        == 403
    )
    assert (
        client_for(cast.b.dispatcher)
        .post(reverse("people:reveal", args=[resident.pk, "phone"]))
        .status_code
        == 404
    )
    assert not AuditLog.objects.exists()


def test_reveal_unknown_field_is_400_and_logs_nothing(cast):
    client = client_for(cast.a.dispatcher)
    r = client.post(
        f"/api/v1/residents/{cast.a.person.pk}/reveal",
        {"field": "name"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.dispatcher)}",
    )
    assert r.status_code == 400
    assert "field" in r.json()["fields"]
    assert (
        client.post(reverse("people:reveal", args=[cast.a.person.pk, "birth"])).status_code == 400
    )
    assert not AuditLog.objects.exists()


def test_reveal_requires_post(cast):
    r = client_for(cast.a.dispatcher).get(
        reverse("people:reveal", args=[cast.a.person.pk, "phone"])
    )
    assert r.status_code == 405


def test_owner_sees_own_data_unmasked_in_me(cast):
    r = client_for(cast.a.resident).get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.resident)}"
    )
    assert r.json()["resident"]["phone"] == cast.a.person.phone
