from __future__ import annotations

from django.urls import path

from linli.activities import views

app_name = "activities"

urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
]
