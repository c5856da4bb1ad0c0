from __future__ import annotations

from django.urls import path

from linli.network import views

app_name = "network"
urlpatterns = [
    path("", views.tree_view, name="tree"),
    path("<slug:code>/", views.center_view, name="center"),
]
