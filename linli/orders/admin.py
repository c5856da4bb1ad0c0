from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.core.admin import MaskedAdmin
from linli.orders.models import Order, ServiceItem


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    """The catalog: the four fixed items come with the database and can be
    tuned (deadlines, wording, switched off) but not deleted or moved to one
    community; communities' optional items are added here."""

    list_display = (
        "code",
        "name",
        "name_en",
        "fixed",
        "community",
        "skill",
        "members_needed",
        "active",
        "order",
    )
    list_filter = ("fixed", "active", "team_kind", "community")
    search_fields = ("code", "name", "name_en")
    raw_id_fields = ("community",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and obj.fixed:
            return ("code", "fixed", "community")
        return ("fixed",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.fixed:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Order)
class OrderAdmin(MaskedAdmin):
    """Orders are read here, never written: every change is a service's
    transition. The service address is masked, with the audited reveal; the
    point's coordinates would give the address away, so they are left out."""

    masked_fields = ("address",)
    list_display = ("pk", "item", "resident", "community", "status", "masked_address", "created_at")
    list_filter = ("status", "community", "item")
    list_select_related = ("item", "resident", "community")
    exclude = ("lat", "lon")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
