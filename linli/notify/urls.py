from __future__ import annotations

from django.urls import path

from linli.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("read-all/", views.read_all_view, name="read_all"),
    path("<int:pk>/read/", views.read_view, name="read"),
    path("<int:pk>/open/", views.open_view, name="open"),
]
