from __future__ import annotations

from django.contrib import admin

from linli.network.models import Center, Function, Room


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "provision", "floor_area")
    list_filter = ("kind", "provision")
    search_fields = ("code", "name", "address")
    filter_horizontal = ("functions",)
    inlines = [RoomInline]
    list_select_related = ("parent",)


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "fixed", "order")
    list_filter = ("fixed",)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "center", "kind", "capacity", "floor_area")
    list_filter = ("kind",)
    search_fields = ("name", "center__name")
    list_select_related = ("center",)
