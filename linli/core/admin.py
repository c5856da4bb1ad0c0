from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from linli.core.models import ApiToken, AuditLog, User


@admin.register(User)
class LinliUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "role", "community", "is_active")
    list_filter = ("role", "community", "is_active")
    fieldsets = (*UserAdmin.fieldsets, (_("角色与社区"), {"fields": ("role", "community")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, (_("角色与社区"), {"fields": ("role", "community")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        # A token's plaintext is shown once, to its owner, by the API.
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target_type", "target_id", "field", "ip")
    list_filter = ("action", "target_type")
    search_fields = ("actor__username",)
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
