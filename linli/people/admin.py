from __future__ import annotations

from django.contrib import admin

from linli.people.models import CareTag, Guardianship, Household, Resident


class GuardianInline(admin.TabularInline):
    model = Guardianship
    fk_name = "ward"
    extra = 0
    autocomplete_fields = ("guardian",)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("name", "gender", "birth_date", "community")
    list_filter = ("community", "gender", "care_tags")
    search_fields = ("name", "name_initials", "phone_tail", "id_number")
    filter_horizontal = ("care_tags",)
    raw_id_fields = ("household", "account")
    inlines = [GuardianInline]
    list_select_related = ("community",)


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en")


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("code", "community", "address")
    search_fields = ("code", "address")
