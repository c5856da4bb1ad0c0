from __future__ import annotations

from django.urls import path

from linli.orders import views

app_name = "orders"
urlpatterns = [
    # 群众点单: the resident
    path("", views.my_orders_view, name="mine"),
    path("new/<slug:code>/", views.place_view, name="place"),
    # the order an order form's key placed (the form asks it when Back returns to it)
    path("sent/<str:key>/", views.sent_view, name="sent"),
    # one order (notifications link here: services._link)
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/cancel/", views.cancel_view, name="cancel"),
    path("<int:pk>/rate/", views.rate_view, name="rate"),
    path("<int:pk>/callback/", views.callback_view, name="callback"),
    path("<int:pk>/dispatch/", views.dispatch_view, name="dispatch"),
    path("<int:pk>/link-resident/", views.link_resident_view, name="link_resident"),
    path("<int:pk>/reject/", views.reject_view, name="reject"),
    path("<int:pk>/follow-up/", views.follow_up_view, name="follow_up"),
    path("<int:pk>/accept/", views.accept_view, name="accept"),
    path("<int:pk>/decline/", views.decline_view, name="decline"),
    path("<int:pk>/start/", views.start_view, name="start"),
    path("<int:pk>/complete/", views.complete_view, name="complete"),
    path("<int:pk>/contact/", views.contact_view, name="contact"),
    # 服务队接单: the member
    path("tasks/", views.tasks_view, name="tasks"),
    # 集中派单: the dispatcher console
    path("console/", views.queue_view, name="queue"),
    path("console/phone/", views.phone_view, name="phone"),
    path("console/follow-ups/", views.follow_ups_view, name="follow_ups"),
]
