from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from linli.api import api
from linli.core.views import login_view
from linli.site import health
from linli.site import views as site_views

urlpatterns = [
    path("", site_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/login/", login_view, name="login"),
    path("accounts/password/forgot/", site_views.password_forgot, name="password_forgot"),
    path("accounts/password/code/", site_views.password_code, name="password_code"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("network/", include("linli.network.urls")),
    path("people/", include("linli.people.urls")),
    path("teams/", include("linli.teams.urls")),
    path("orders/", include("linli.orders.urls")),
    path("dispatch/", include("linli.dispatch.urls")),
    path("notifications/", include("linli.notify.urls")),
    path("activities/", include("linli.activities.urls")),
    path("api/", api.urls),
    path("open311/v2/", include("linli.open311.urls")),
    path("admin/", admin.site.urls),
]
