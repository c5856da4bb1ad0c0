"""The home page (what each person can do, by the roles they hold) and the
forgotten-password pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.ratelimit import by_ip, hit
from linli.core.roles import Role
from linli.core.services import password_reset_by_code, password_validate
from linli.orders.selectors import catalog_for
from linli.people.models import Resident
from linli.people.selectors import account_for_reset
from linli.site.services import password_reset_request
from linli.teams.models import Member


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    resident = Resident.objects.filter(account=request.user).first()
    memberships = (
        Member.objects.filter(user=request.user).select_related("team").prefetch_related("skills")
    )
    # 群众点单: one big button per catalog item, for anyone ordering for themself.
    can_order = resident is not None and request.user.role not in (Role.DISPATCHER, Role.CITY)
    catalog = (
        catalog_for(request.user, community_id=resident.community_id)
        if can_order and resident is not None
        else []
    )
    return render(
        request,
        "site/home.html",
        {
            "resident": resident,
            "memberships": memberships,
            "can_order": can_order,
            "catalog": catalog,
        },
    )


# --- forgot password: a code by SMS, then a new password ----------------------------

SESSION_WHO = "password_reset_who"


class ForgotForm(forms.Form):
    who = forms.CharField(label=gettext_lazy("手机号或用户名"), max_length=150)


class CodeForm(forms.Form):
    who = forms.CharField(label=gettext_lazy("手机号或用户名"), max_length=150)
    code = forms.RegexField(
        label=gettext_lazy("短信验证码"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": gettext_lazy("验证码是 6 位数字。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    password1 = forms.CharField(
        label=gettext_lazy("新密码"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("再输入一次新密码"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") != data["password1"]:
            self.add_error("password2", _("两次输入的密码不一样。"))
        return data


def password_forgot(request: HttpRequest) -> HttpResponse:
    """Ask for a code. The answer is the same whether the account exists or not."""
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        who = form.cleaned_data["who"].strip()
        rate = settings.LINLI_RATE_PASSWORD_RESET
        # Both are counted, by the address and by what was asked for.
        waits = [
            hit("password_reset", by_ip(request), rate),
            hit("password_reset", "who:" + who.lower().replace(" ", "").replace("-", ""), rate),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            form.add_error(None, _("请求太频繁，请 %(n)s 秒后再试。") % {"n": wait})
            return render(request, "registration/password_forgot.html", {"form": form}, status=429)
        password_reset_request(who=who)
        request.session[SESSION_WHO] = who
        return redirect("password_code")
    return render(request, "registration/password_forgot.html", {"form": form})


def password_code(request: HttpRequest) -> HttpResponse:
    """Enter the code and a new password; a right code logs the person in."""
    who = request.session.get(SESSION_WHO, "")
    form = CodeForm(request.POST or None, initial={"who": who})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = account_for_reset(data["who"])
        try:
            # The password is judged first, account or not, so that its
            # errors say nothing about whether there is one.
            password_validate(data["password1"], user)
            done = user is not None and password_reset_by_code(
                user=user, code=data["code"].strip(), password=data["password1"], request=request
            )
        except InvalidInput as exc:
            for error in exc.fields.get("password", [exc.message]):
                form.add_error("password1", error)
        else:
            if done and user is not None:
                request.session.pop(SESSION_WHO, None)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("密码已重设，您已登录。"))
                return redirect("home")
            form.add_error(
                "code", _("验证码不正确或已失效。请检查短信里的验证码，或重新获取一个。")
            )
    return render(
        request,
        "registration/password_code.html",
        {"form": form, "who": who, "ttl_minutes": max(1, settings.LINLI_RESET_CODE_TTL // 60)},
    )
