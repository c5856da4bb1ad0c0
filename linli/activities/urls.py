from __future__ import annotations

from django.urls import path

from linli.activities import feed_urls, views

app_name = "activities"

urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/signup/", views.signup, name="signup"),
    path("signups/<int:pk>/cancel/", views.signup_cancel, name="signup_cancel"),
    # organisers
    path("manage/", views.manage, name="manage"),
    path("new/", views.new, name="new"),
    path("new/plan/", views.plan, name="plan"),
    path("<int:pk>/cancel/", views.activity_cancel, name="cancel"),
    path("<int:pk>/capacity/", views.capacity, name="capacity"),
    path("<int:pk>/birthday/", views.birthday, name="birthday"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/move/", views.session_move, name="session_move"),
    path("sessions/<int:pk>/sheet/", views.sheet, name="sheet"),
    path("sessions/<int:pk>/mark/", views.mark, name="mark"),
    path("sessions/<int:pk>/checkin/", views.checkin, name="checkin_session"),
    path("checkin/<str:code>/", views.checkin_code, name="checkin"),
    # dispatchers
    path("rooms/", views.rooms, name="rooms"),
    *feed_urls.urlpatterns,
]
