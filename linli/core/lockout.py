"""What django-axes' lockout means to the person at the login page.

Five failures for one username from one address lock it for
``AXES_COOLOFF_TIME``; the login page and the API's token endpoint both say
how many tries are left, and, once locked, for how long and what to do.
A password set anew (at the desk, or by SMS code) lifts the lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext, ngettext

if TYPE_CHECKING:
    from django.http import HttpRequest

    from linli.core.models import User


def lockout_minutes() -> int:
    """``AXES_COOLOFF_TIME`` (hours, or a timedelta) in whole minutes."""
    cooloff = settings.AXES_COOLOFF_TIME
    hours = cooloff.total_seconds() / 3600 if hasattr(cooloff, "total_seconds") else cooloff
    return max(1, round(float(hours) * 60))


def attempts_left(request: HttpRequest | None) -> int | None:
    """Tries left after the failure axes just counted on ``request``; None if it counted none."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return None
    return max(0, int(settings.AXES_FAILURE_LIMIT) - int(failures))


def login_failed_message(request: HttpRequest | None) -> str:
    """A wrong username or password, with the tries left before the lock."""
    left = attempts_left(request)
    if left is None:
        return gettext("用户名或密码不正确。")
    return ngettext(
        "用户名或密码不正确，还可尝试 %(n)d 次。", "用户名或密码不正确，还可尝试 %(n)d 次。", left
    ) % {"n": left}


def lockout_message() -> str:
    """Locked: for how long, and the two ways back in before then."""
    return gettext(
        "登录失败次数过多，账号已锁定 %(minutes)d 分钟。请到时再试，"
        "或请社区服务台的工作人员为您重置密码，也可以用手机短信验证码自己重置密码。"
    ) % {"minutes": lockout_minutes()}


def lockout_clear(user: User) -> int:
    """Forget the failed logins of ``user``'s username (from every address)."""
    from axes.utils import reset

    return int(reset(username=user.get_username()))
