from __future__ import annotations

from django.contrib import admin

from linli.notify.models import Delivery, Notification, PeriodicJob


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ("channel", "status", "attempts", "next_attempt_at", "last_error", "sent_at")
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "text", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "message")
    raw_id_fields = ("recipient",)
    list_select_related = ("recipient",)
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "notification",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("channel", "status")
    raw_id_fields = ("notification",)
    list_select_related = ("notification__recipient",)


@admin.register(PeriodicJob)
class PeriodicJobAdmin(admin.ModelAdmin):
    list_display = ("task_path", "every", "next_run_at", "pending_result_id")
