from __future__ import annotations

from django.urls import path, re_path

from linli.open311 import views

app_name = "open311"
urlpatterns = [
    re_path(r"^discovery\.(?P<fmt>json|xml)$", views.discovery, name="discovery"),
    re_path(r"^services\.(?P<fmt>json|xml)$", views.services_view, name="services"),
    re_path(
        r"^services/(?P<code>[-\w]+)\.(?P<fmt>json|xml)$", views.definition_view, name="service"
    ),
    re_path(r"^requests\.(?P<fmt>json|xml)$", views.requests_view, name="requests"),
    re_path(
        r"^requests/(?P<request_id>[^/]+)\.(?P<fmt>json|xml)$",
        views.request_view,
        name="request",
    ),
    path("", views.not_found),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
