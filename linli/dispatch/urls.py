from __future__ import annotations

from django.urls import path

from linli.dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("batch/", views.batch_view, name="batch"),
    path("orders/<int:pk>/suggestions/", views.suggestions_view, name="suggestions"),
]
