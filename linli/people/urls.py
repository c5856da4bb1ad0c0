from __future__ import annotations

from django.urls import path

from linli.people import views

app_name = "people"
urlpatterns = [
    path("", views.resident_list_view, name="list"),
    path("import/", views.resident_import_view, name="import"),
    path("new/", views.resident_register_view, name="register"),
    path("<int:pk>/", views.resident_detail_view, name="detail"),
    path("<int:pk>/password/", views.resident_password_view, name="password"),
    path("<int:pk>/reveal/<str:field>/", views.resident_reveal_view, name="reveal"),
]
