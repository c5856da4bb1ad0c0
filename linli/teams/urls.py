from __future__ import annotations

from django.urls import path

from linli.teams import views

app_name = "teams"
urlpatterns = [path("", views.team_list_view, name="list")]
