from __future__ import annotations

from django.contrib import admin

from linli.dispatch.models import DispatchPolicy


@admin.register(DispatchPolicy)
class DispatchPolicyAdmin(admin.ModelAdmin):
    list_display = ("community", "mode")
    list_filter = ("mode",)
