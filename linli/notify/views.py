"""The inbox page: one's own notifications, newest first, in one's language."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from linli.core.http import AuthedRequest
from linli.notify import selectors, services

PAGE_SIZE = 20


@login_required
def inbox_view(request: AuthedRequest) -> HttpResponse:
    unread = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread=unread), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    language = translation.get_language() or request.user.language
    items = [(n, n.render(language)) for n in page]
    return render(
        request, "notify/inbox.html", {"page": page, "items": items, "unread_only": unread}
    )


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = ""
    return redirect(target or "notify:inbox")


@login_required
@require_POST
def read_view(request: AuthedRequest, pk: int) -> HttpResponse:
    services.notification_read(actor=request.user, notification_id=pk)
    return _back(request)


@login_required
@require_POST
def open_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark it read and go where it points."""
    n = services.notification_read(actor=request.user, notification_id=pk)
    if n.link and url_has_allowed_host_and_scheme(
        n.link, {request.get_host()}, request.is_secure()
    ):
        return redirect(n.link)
    return redirect("notify:inbox")


@login_required
@require_POST
def read_all_view(request: AuthedRequest) -> HttpResponse:
    n = services.notifications_read_all(actor=request.user)
    if n:
        messages.success(
            request, ngettext("%(n)s 条通知已标为已读。", "%(n)s 条通知已标为已读。", n) % {"n": n}
        )
    else:
        messages.info(request, _("没有未读通知。"))
    return _back(request)
