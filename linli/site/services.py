"""Self-service password reset by SMS code: the request and the new password.

The code itself (hashed, expiring, a few tries, one per account) is
``linli.core``'s; the account is found through the resident record's phone
(``linli.people``), and the code goes out through the notification outbox
(``linli.notify``) -- the city's SMS gateway where it is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from linli.core.services import reset_code_issue
from linli.notify.services import notify
from linli.people.selectors import account_for_reset

if TYPE_CHECKING:
    from linli.core.models import User

RESET_CODE_KIND = "password_reset_code"
RESET_CODE_MESSAGE = gettext_noop(
    "邻里验证码：%(code)s，%(minutes)s 分钟内有效，用于重设密码。请勿告诉任何人，工作人员不会向您索要。"
)


def password_reset_request(*, who: str) -> User | None:
    """Send a reset code to the account ``who`` names (username or phone), if any.

    Whether one was sent is for the caller's tests only: the page answers
    the same either way. The code is in the notification (its recipient's
    inbox and SMS) and nowhere else in plain text.
    """
    user = account_for_reset(who)
    if user is None:
        return None
    with transaction.atomic():
        code = reset_code_issue(user=user)
        notify(
            [user],
            RESET_CODE_KIND,
            RESET_CODE_MESSAGE,
            {"code": code, "minutes": max(1, settings.LINLI_RESET_CODE_TTL // 60)},
        )
    return user
