"""The iCalendar feeds' routes, included by the activities pages' ``urls.py`` (namespace
``activities``): ``/activities/feeds/rooms/<id>.ics``, ``/activities/feeds/<id>.ics`` and the
personal feed behind its secret."""

from __future__ import annotations

from django.urls import path

from linli.activities import feeds

urlpatterns = [
    path("feeds/rooms/<int:pk>.ics", feeds.room_feed, name="feed_room"),
    path("feeds/<int:pk>.ics", feeds.activity_feed, name="feed_activity"),
    path("feeds/me/<str:secret>.ics", feeds.personal_feed, name="feed_personal"),
]
