"""The one application error type, turned into a 4xx by pages and the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _


class AppError(Exception):
    """Invalid input or a state that does not allow the action.

    ``fields`` maps a field name to its messages; ``status`` is the HTTP status
    the API answers with.
    """

    status = 400
    code = "invalid"
    default_message = _("输入有误。")

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Mapping[str, Sequence[str] | str] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = str(message if message is not None else self.default_message)
        self.fields = {
            k: [str(v)]
            if isinstance(v, str) or not isinstance(v, Sequence)
            else [str(m) for m in v]
            for k, v in (fields or {}).items()
        }
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidInput(AppError):
    status = 400
    code = "invalid"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    default_message = _("您的角色无权执行此操作。")


class NotFound(AppError):
    status = 404
    code = "not_found"
    default_message = _("未找到。")


class Conflict(AppError):
    status = 409
    code = "conflict"
    default_message = _("当前状态不允许此操作。")
