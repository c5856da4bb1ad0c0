"""The JSON API: ``/api/v1``, one error shape for every endpoint.

Errors are ``{"code": …, "message": …, "fields": {field: [messages]}}`` with
400 invalid input, 401 no or bad token, 403 role not allowed, 404 absent or in
another community, 409 conflict with the current state.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from linli.core.errors import AppError
from linli.core.models import ApiToken, User


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            api_token = (
                ApiToken.objects.active().select_related("user").get(key_hash=ApiToken.hash(token))
            )
        except ApiToken.DoesNotExist:
            return None
        user = api_token.user
        if not user.is_active:
            return None
        now = timezone.now()
        # Touch last_used_at at most once a minute, so reads stay reads.
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = user
        return user


api = NinjaAPI(
    title="linli API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=BearerToken(),
)


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "fields": fields or {}}, status=status
    )


PYDANTIC_MESSAGES = {
    "missing": lambda ctx: _("此字段为必填项。"),
    "string_too_long": lambda ctx: _("最多 %(n)s 个字符。") % {"n": ctx.get("max_length")},
    "string_too_short": lambda ctx: _("至少 %(n)s 个字符。") % {"n": ctx.get("min_length")},
    "int_parsing": lambda ctx: _("请输入整数。"),
    "int_type": lambda ctx: _("请输入整数。"),
    "int_from_float": lambda ctx: _("请输入整数。"),
    "float_type": lambda ctx: _("请输入数字。"),
    "float_parsing": lambda ctx: _("请输入数字。"),
    "bool_type": lambda ctx: _("请输入 true 或 false。"),
    "bool_parsing": lambda ctx: _("请输入 true 或 false。"),
    "string_type": lambda ctx: _("请输入文本。"),
    "datetime_parsing": lambda ctx: _("请输入 ISO 8601 格式的日期时间。"),
    "datetime_from_date_parsing": lambda ctx: _("请输入 ISO 8601 格式的日期时间。"),
    "date_parsing": lambda ctx: _("请输入 ISO 8601 格式的日期，例如 1944-03-05。"),
    "date_from_datetime_parsing": lambda ctx: _("请输入 ISO 8601 格式的日期，例如 1944-03-05。"),
    "date_from_datetime_inexact": lambda ctx: _("请输入 ISO 8601 格式的日期，例如 1944-03-05。"),
    "literal_error": lambda ctx: (
        _("取值必须是 %(expected)s 之一。") % {"expected": ctx.get("expected")}
    ),
    "enum": lambda ctx: _("取值必须是 %(expected)s 之一。") % {"expected": ctx.get("expected")},
    "json_invalid": lambda ctx: _("请求体不是有效的 JSON。"),
    "greater_than_equal": lambda ctx: _("不能小于 %(n)s。") % {"n": ctx.get("ge")},
    "less_than_equal": lambda ctx: _("不能大于 %(n)s。") % {"n": ctx.get("le")},
    # Our own validators (e.g. SaneDateTime) raise ValueError with a translated message.
    "value_error": lambda ctx: str(ctx.get("error", "")),
    "timezone_aware": lambda ctx: _("请带上时区，例如 2026-12-01T09:00:00+08:00。"),
}


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        # loc is like ("body", "payload", "username") or ("query", "q")
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "payload")]
        name = ".".join(loc) or "__all__"
        make = PYDANTIC_MESSAGES.get(err.get("type", ""))
        message = make(err.get("ctx") or {}) if make else str(err.get("msg", _("无效。")))
        fields.setdefault(name, []).append(message)
    return error_response(request, 400, "invalid", _("输入有误。"), fields)


@api.exception_handler(AppError)
def on_app_error(request: HttpRequest, exc: AppError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthorized", _("缺少或无效的访问令牌。"))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("未找到。"))


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, "forbidden", _("您的角色无权执行此操作。"))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        400: "invalid",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
    }
    message = _("请求体不是有效的 JSON。") if exc.status_code == 400 else str(exc)
    return error_response(request, exc.status_code, code.get(exc.status_code, "error"), message)


from linli.activities.api import router as activities_router  # noqa: E402
from linli.core.api import router as core_router  # noqa: E402
from linli.dispatch.api import router as dispatch_router  # noqa: E402
from linli.network.api import router as network_router  # noqa: E402
from linli.notify.api import router as notify_router  # noqa: E402
from linli.orders.api import router as orders_router  # noqa: E402
from linli.people.api import router as people_router  # noqa: E402
from linli.site.api import router as site_router  # noqa: E402

api.add_router("/v1", core_router)
api.add_router("/v1", site_router)
api.add_router("/v1", network_router)
api.add_router("/v1", people_router)
api.add_router("/v1", notify_router)
api.add_router("/v1", orders_router)
api.add_router("/v1", dispatch_router)
api.add_router("/v1", activities_router)
