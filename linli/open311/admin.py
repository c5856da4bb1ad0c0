"""Open311 clients in the admin: registered with a jurisdiction, their key shown once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.admin import AuditedAdmin
from linli.open311 import services
from linli.open311.models import Client


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ("name", "jurisdiction", "channel")


@admin.register(Client)
class ClientAdmin(AuditedAdmin):
    form = ClientForm
    list_display = ("name", "jurisdiction", "channel", "prefix", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "channel")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "account", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A client's jurisdiction is its key's reach: a new reach is a new client.
        extra = ("jurisdiction",) if obj is not None else ()
        return (*self.readonly_fields, *extra)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its orders name it; revoke instead

    def save_model(self, request: HttpRequest, obj: Client, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        client, key = services.client_create(
            name=obj.name, jurisdiction=obj.jurisdiction, channel=obj.channel
        )
        obj.pk, obj.account, obj.key_hash, obj.prefix = (
            client.pk,
            client.account,
            client.key_hash,
            client.prefix,
        )
        obj._state.adding = False
        messages.warning(
            request,
            _("api_key：%(key)s（只显示这一次，请现在复制给客户端。）") % {"key": key},
        )

    @admin.action(description=gettext_lazy("吊销所选客户端的 api_key"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        for client in queryset:
            services.client_revoke(client)
