from __future__ import annotations

from django.contrib import admin

from linli.core.admin import AuditedAdmin
from linli.dispatch.models import DispatchPolicy


@admin.register(DispatchPolicy)
class DispatchPolicyAdmin(AuditedAdmin):
    list_display = ("community", "mode")
    list_filter = ("mode",)
