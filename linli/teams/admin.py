from __future__ import annotations

from django.contrib import admin

from linli.teams.models import Member, Skill, Team


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    raw_id_fields = ("user", "resident")
    fields = ("user", "resident", "source", "max_concurrent", "active")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "community", "leader")
    list_filter = ("kind", "community")
    search_fields = ("name",)
    raw_id_fields = ("leader",)
    inlines = [MemberInline]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("__str__", "source", "max_concurrent", "active")
    list_filter = ("source", "team__kind", "active")
    search_fields = ("user__username", "user__first_name")
    filter_horizontal = ("skills",)
    raw_id_fields = ("user", "resident", "team")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en")
