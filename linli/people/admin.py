from __future__ import annotations

from django.contrib import admin

from linli.core.admin import AuditedAdmin, MaskedAdmin
from linli.people.models import CareTag, Guardianship, Household, Resident


class GuardianInline(admin.TabularInline):
    model = Guardianship
    fk_name = "ward"
    extra = 0
    autocomplete_fields = ("guardian",)


@admin.register(Resident)
class ResidentAdmin(MaskedAdmin, AuditedAdmin):
    masked_fields = ("phone", "id_number", "address")
    list_display = ("name", "gender", "birth_date", "community", "masked_phone", "masked_id_number")
    list_filter = ("community", "gender", "care_tags")
    # Exact ID numbers only: a partial match would let one guess a number digit by digit.
    search_fields = ("name", "name_initials", "phone_tail", "=id_number")
    filter_horizontal = ("care_tags",)
    raw_id_fields = ("household", "account")
    inlines = [GuardianInline]
    list_select_related = ("community",)


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en")


@admin.register(Household)
class HouseholdAdmin(MaskedAdmin, AuditedAdmin):
    masked_fields = ("address",)
    list_display = ("code", "community", "masked_address")
    search_fields = ("code",)
