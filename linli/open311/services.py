"""Open311 GeoReport v2 on linli's catalog and orders: keys, the catalog as
services, placing a request, and requests as the spec shapes them.

Every function returns plain data (dicts, lists) in the spec's field names;
``views`` writes them as JSON or XML. Errors are :class:`Open311Error`: the
spec's ``code`` (the HTTP status) and a translated ``description``.

Privacy: GeoReport answers are public by nature. A request as
:func:`request_out` shows it never holds the resident's name, phone, home
address or coordinates -- only the community center's location and name --
except to the client that placed it, which also sees its own description.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from linli.core.boundary import datetime_problem, text_problem
from linli.core.errors import AppError
from linli.core.models import User
from linli.core.ratelimit import hit
from linli.core.roles import Role
from linli.core.text import join_names
from linli.network.models import Center
from linli.open311.models import Client
from linli.orders import services as orders
from linli.orders.models import (
    ORDER_OPEN_STATES,
    Order,
    OrderStatus,
    ServiceItem,
    SlotStatus,
    Urgency,
)
from linli.people.models import Resident

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The date this endpoint last changed what it answers (the discovery's changeset).
CHANGESET = "2026-12-03T00:00:00+08:00"
# The spec: a search "may not span more than 90 days", the most recent 90 by
# default; at most 1000 requests in one answer.
WINDOW = dt.timedelta(days=90)
LIMIT = 1000


class Open311Error(Exception):
    """One error as the spec shapes it: ``code`` (the HTTP status) and ``description``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = str(description)
        self.retry_after = retry_after


def _from_app_error(exc: AppError) -> Open311Error:
    """A linli service's refusal (field -> messages) as one Open311 error."""

    def spec_name(name: str) -> str:  # an item's own answer is attribute[code] here
        return f"attribute[{name[11:]}]" if name.startswith("attributes.") else name

    parts = [f"{spec_name(name)}：{'；'.join(msgs)}" for name, msgs in exc.fields.items()]
    return Open311Error(exc.status, "；".join(parts) if parts else exc.message)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the city's offset (2026-05-01T09:00:00+08:00)."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


# --- clients and keys --------------------------------------------------------------


def client_create(*, name: str, jurisdiction: Center, channel: str) -> tuple[Client, str]:
    """Register a client; its key, shown once. Its orders are placed by a service
    account of its own: a dispatcher of the community (or the city role), which
    cannot sign in (no password, inactive) and so receives no notifications."""
    if jurisdiction.kind not in (Center.Kind.CITY, Center.Kind.COMMUNITY):
        raise ValidationError({"jurisdiction": _("辖区只能是全市或一个社区。")})
    key = Client.generate()
    with transaction.atomic():
        city = jurisdiction.kind == Center.Kind.CITY
        account = User(
            username=f"open311-{Client.hash(key)[:12]}",
            first_name=name[:150],
            role=Role.CITY if city else Role.DISPATCHER,
            community=None if city else jurisdiction,
            is_active=False,
        )
        account.set_unusable_password()
        account.save()
        client = Client.objects.create(
            name=name,
            jurisdiction=jurisdiction,
            channel=channel,
            account=account,
            key_hash=Client.hash(key),
            prefix=key[:8],
        )
    return client, key


def client_revoke(client: Client) -> None:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])


def client_for_key(key: str) -> Client | None:
    """The active client holding ``key``, or None."""
    if not key or text_problem(key):
        return None
    return (
        Client.objects.active()
        .select_related("jurisdiction", "account")
        .filter(key_hash=Client.hash(key))
        .first()
    )


@dataclass(frozen=True)
class Caller:
    """Who asks: a client (with its key) or the public (no key)."""

    client: Client | None
    # The centers in view: one community, or None for the whole city.
    community: Center | None

    @property
    def community_ids(self) -> list[int] | None:
        return None if self.community is None else [self.community.pk]


def authenticate(
    params: Mapping[str, str], *, key_required: bool, ip: str, now: dt.datetime | None = None
) -> Caller:
    """The caller of one request: its key (``api_key``) and its jurisdiction.

    A missing key where one is required, or a revoked or unknown one, is a
    403; a ``jurisdiction_id`` outside the key's is a 403 too (a key of one
    community never sees or places another's orders). Every call counts
    against a rate: per key, or per client address without one (unknown keys
    count there as well); over it, a 429.
    """
    key = params.get("api_key", "")
    client = client_for_key(key) if key else None
    wait = hit(
        "open311",
        f"client:{client.pk}" if client is not None else f"ip:{ip}",
        _rate("LINLI_RATE_OPEN311_KEY" if client is not None else "LINLI_RATE_OPEN311_PUBLIC"),
    )
    if wait is not None:
        raise Open311Error(
            429, _("请求太频繁，请 %(n)s 秒后再试。") % {"n": wait}, retry_after=wait
        )
    if key and client is None:
        raise Open311Error(403, _("api_key 无效或已被吊销。"))
    if client is None and key_required:
        raise Open311Error(403, _("需要 api_key：请向市级管理员申请。"))
    wanted = params.get("jurisdiction_id", "")
    if client is not None:
        Client.objects.filter(pk=client.pk).update(last_used_at=now or timezone.now())
        own = client.jurisdiction
        if not wanted or wanted == own.code:
            return Caller(client, None if own.kind == Center.Kind.CITY else own)
        if own.kind == Center.Kind.CITY:
            return Caller(client, _community(wanted))
        raise Open311Error(403, _("这个 api_key 不能访问辖区 %(j)s。") % {"j": wanted})
    if not wanted:
        return Caller(None, None)
    if Center.objects.filter(code=wanted, kind=Center.Kind.CITY).exists():
        return Caller(None, None)
    return Caller(None, _community(wanted))


def _rate(name: str) -> str:
    from django.conf import settings

    return str(getattr(settings, name))


def _community(code: str) -> Center:
    center = Center.objects.filter(code=code, kind=Center.Kind.COMMUNITY).first()
    if center is None:
        raise Open311Error(404, _("没有辖区 %(j)s。") % {"j": code})
    return center


# --- the discovery document ----------------------------------------------------------


def discovery(url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": _("邻里社区服务平台：请联系市级管理员。"),
        "key_service": _("api_key 由市级管理员在管理后台登记客户端后发放。"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# --- services: the catalog -------------------------------------------------------------


def _items(caller: Caller) -> QuerySet[ServiceItem]:
    q = Q(fixed=True)
    q |= Q(community__isnull=False) if caller.community is None else Q(community=caller.community)
    return ServiceItem.objects.filter(q, active=True).select_related("skill", "community")


def service_list(caller: Caller) -> list[dict[str, Any]]:
    """GET services: the active catalog items of the jurisdiction."""
    return [service_out(item) for item in _items(caller)]


def service_out(item: ServiceItem) -> dict[str, Any]:
    keywords = [item.skill.label]
    if item.community is not None:
        keywords.append(item.community.name)
    return {
        "service_code": item.code,
        "service_name": item.label,
        "description": item.description_label,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": item.get_team_kind_display(),
    }


def _item(caller: Caller, code: str) -> ServiceItem:
    item = _items(caller).filter(code=code).first()
    if item is None:
        raise Open311Error(404, _("没有服务项目 %(code)s。") % {"code": code})
    return item


def service_definition(caller: Caller, code: str) -> dict[str, Any]:
    """GET services/{service_code}: the attributes a request of the item takes."""
    item = _item(caller, code)
    return {"service_code": item.code, "attributes": service_attributes(item)}


# An item's own questions (ServiceItem.form) as Open311 datatypes.
_DATATYPES = {
    "text": "string",
    "number": "number",
    "choice": "singlevaluelist",
    "date": "string",
    "boolean": "singlevaluelist",
}


def _own_attribute(question: Any, order: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "variable": True,
        "code": question.code,
        "datatype": _DATATYPES[question.type],
        "required": question.required,
        "datatype_description": None,
        "order": order,
        "description": question.label + (f"（{question.help}）" if question.help else ""),
    }
    if question.type == "number":
        bounds = [
            f"≥ {question.min}" if question.min is not None else "",
            f"≤ {question.max}" if question.max is not None else "",
        ]
        out["datatype_description"] = " ".join(b for b in [_("整数"), *bounds] if b)
    elif question.type == "date":
        out["datatype_description"] = _("日期，例如 2026-07-01")
    elif question.type == "choice":
        out["values"] = [{"key": c.code, "name": c.label} for c in question.choices]
    elif question.type == "boolean":
        out["values"] = [{"key": "true", "name": _("是")}, {"key": "false", "name": _("否")}]
    return out


def service_attributes(item: ServiceItem) -> list[dict[str, Any]]:
    """The Open311 attributes of ``item``, from the form it asks (``ServiceItem.form``):
    urgency (a single-value list) where it asks one, the wanted time window
    (required for an item booked for a date or a time), and the item's own
    questions; :func:`attribute_values` reads them."""
    asked = item.order_form
    window_hint = _("ISO 8601，带时区，例如 2026-05-01T09:00:00+08:00")
    out: list[dict[str, Any]] = []
    if asked.asks_urgency:
        out.append(
            {
                "variable": True,
                "code": "urgency",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": None,
                "order": 1,
                "description": _("紧急程度（默认：一般）"),
                "values": [{"key": value, "name": str(label)} for value, label in Urgency.choices],
            }
        )
    booked = asked.scheduled_only
    out += [
        {
            "variable": True,
            "code": "window_start",
            "datatype": "datetime",
            "required": booked,
            "datatype_description": window_hint,
            "order": 2,
            "description": _("期望开始时间") if booked else _("期望开始时间（预约服务必填）"),
        },
        {
            "variable": True,
            "code": "window_end",
            "datatype": "datetime",
            "required": booked,
            "datatype_description": window_hint,
            "order": 3,
            "description": _("期望结束时间") if booked else _("期望结束时间（预约服务必填）"),
        },
    ]
    out += [_own_attribute(q, n) for n, q in enumerate(asked.questions, start=4)]
    return out


def attribute_values(item: ServiceItem, raw: Mapping[str, str]) -> dict[str, Any]:
    """``attribute[code]=value`` of a POST, checked against the item's attributes,
    as ``order_place`` keyword arguments (the item's own answers in ``attributes``,
    which ``order_place`` checks as it checks every channel's)."""
    known = {a["code"]: a for a in service_attributes(item)}
    own = {q.code for q in item.order_form.questions}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise Open311Error(
            400, _("服务项目没有这些属性：%(codes)s。") % {"codes": join_names(unknown)}
        )
    out: dict[str, Any] = {}
    answers: dict[str, object] = {}
    for code, value in raw.items():
        attribute = known[code]
        if code in own:
            answers[code] = value
        elif attribute["datatype"] == "singlevaluelist":
            keys = [v["key"] for v in attribute["values"]]
            if value not in keys:
                raise Open311Error(
                    400,
                    _("attribute[%(code)s] 只能是 %(keys)s。")
                    % {"code": code, "keys": join_names(keys)},
                )
            out[code] = value
        elif attribute["datatype"] == "datetime":
            out[code] = parse_time(value, f"attribute[{code}]")
    if answers:
        out["attributes"] = answers
    return out


def parse_time(value: str, name: str) -> dt.datetime:
    """An ISO 8601 time; one without an offset is the city's local time."""
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(
            400,
            _("%(name)s 不是有效的时间（ISO 8601，例如 2026-05-01T09:00:00+08:00）。")
            % {"name": name},
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if problem := datetime_problem(parsed):
        raise Open311Error(400, f"{name}：{problem}")
    return parsed


# --- POST requests: placing an order ---------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-()（）]")


def normal_phone(phone: str) -> str:
    """A phone as linli keeps it: no spaces or dashes, no +86 (landlines keep their area dash)."""
    phone = phone.strip()
    digits = _PHONE_JUNK.sub("", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def caller_name(first: str, last: str) -> str:
    """A Chinese name is family name then given name, written together."""
    first, last = first.strip(), last.strip()
    if any("\u4e00" <= c <= "\u9fff" for c in first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def caller_match(community_ids: list[int] | None, phone: str, name: str) -> Resident | None:
    """The one resident of the jurisdiction with this phone (and this name,
    when a name is given); None when none or several match."""
    if not phone:
        return None
    qs = Resident.objects.filter(phone__in={phone, phone.replace("-", "")})
    if community_ids is not None:
        qs = qs.filter(community_id__in=community_ids)
    if name:
        qs = qs.filter(name=name)
    found = list(qs[:2])
    return found[0] if len(found) == 1 else None


def _float(params: Mapping[str, str], name: str) -> float | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Open311Error(400, _("%(name)s 必须是数字。") % {"name": name})
    return number


def _nearest_community(lat: float, lon: float) -> Center | None:
    centers = Center.objects.filter(
        kind=Center.Kind.COMMUNITY, lat__isnull=False, lon__isnull=False
    )
    return min(
        centers,
        key=lambda c: (c.lat - lat) ** 2 + ((c.lon - lon) * math.cos(math.radians(lat))) ** 2,  # type: ignore[operator]
        default=None,
    )


def request_create(
    caller: Caller, params: Mapping[str, str], attributes: Mapping[str, str]
) -> list[dict[str, Any]]:
    """POST requests: place an order for the caller through ``order_place``.

    The caller is matched to a resident of the jurisdiction by phone (and
    name); otherwise the order waits, to be confirmed (待核实), for the
    dispatcher to link it to a resident. Its notice says its deadlines in words.
    """
    client = caller.client
    assert client is not None
    code = params.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, _("service_code 必填。"))
    item = _item(caller, code)
    lat, lon = _float(params, "lat"), _float(params, "long")
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("lat 和 long 需要同时提供。"))
    address = params.get("address_string", "").strip()
    if lat is None and not address and not params.get("address_id", "").strip():
        raise Open311Error(400, _("需要位置：lat 和 long，或 address_string。"))
    phone = normal_phone(params.get("phone", ""))
    if not phone:
        raise Open311Error(400, _("phone 必填：社区要打电话确认服务。"))
    name = caller_name(params.get("first_name", ""), params.get("last_name", ""))
    description = params.get("description", "").strip()
    media_url = params.get("media_url", "").strip()
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError as exc:
            raise Open311Error(400, _("media_url 不是有效的网址。")) from exc
        description = f"{description}\n{_('照片')}：{media_url}".strip()
    kwargs = attribute_values(item, attributes)

    resident = caller_match(caller.community_ids, phone, name)
    community_id: int | None = None
    if resident is not None:
        community_id = resident.community_id
    elif caller.community is not None:
        community_id = caller.community.pk
    elif item.community_id is not None:
        community_id = item.community_id
    elif lat is not None and lon is not None:
        nearest = _nearest_community(lat, lon)
        community_id = nearest.pk if nearest is not None else None
    if community_id is None:
        raise Open311Error(
            400, _("请用社区的 jurisdiction_id，或提供 lat 和 long，以确定来电人所在的社区。")
        )
    try:
        order = orders.order_place(
            actor=client.account,
            item=item.code,
            resident_id=resident.pk if resident is not None else None,
            caller_name=name,
            caller_phone=phone,
            community_id=community_id,
            description=description,
            urgency=kwargs.get("urgency", Urgency.NORMAL),
            window_start=kwargs.get("window_start"),
            window_end=kwargs.get("window_end"),
            channel=client.channel,
            address=address or None,
            lat=lat,
            lon=lon,
            attributes=kwargs.get("attributes"),
        )
    except AppError as exc:
        raise _from_app_error(exc) from exc
    return [
        {
            "service_request_id": str(order.pk),
            "service_notice": service_notice(order),
            "account_id": None,
        }
    ]


def service_notice(order: Order) -> str:
    """The order's deadlines in words (and, unconfirmed, that the community calls back)."""
    notice = _("请在 %(accept)s 前接单，%(complete)s 前完成。") % {
        "accept": timezone.localtime(order.accept_deadline).strftime("%Y-%m-%d %H:%M"),
        "complete": timezone.localtime(order.complete_deadline).strftime("%Y-%m-%d %H:%M"),
    }
    notice = _("服务队将按时限处理：%(notice)s") % {"notice": notice}
    if order.resident_id is None:
        notice += _("社区工作人员会先打电话核实来电人。")
    return notice


# --- GET requests: following orders --------------------------------------------------------


def _orders(caller: Caller) -> QuerySet[Order]:
    qs = Order.objects.select_related("item", "community").prefetch_related(
        "slots__member__team", "slots__offered_team"
    )
    if caller.community is not None:
        qs = qs.filter(community=caller.community)
    return qs


def request_list(caller: Caller, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """GET requests: by ``service_request_id`` (a comma list, which overrides
    the rest), else by ``service_code``, ``status`` (open, closed) and the
    window ``start_date`` .. ``end_date`` (the most recent 90 days by default,
    never more than 90); newest first, at most 1000."""
    qs = _orders(caller)
    ids = [i.strip() for i in params.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        if not all(i.isdigit() and len(i) < 19 for i in ids):
            raise Open311Error(400, _("service_request_id 必须是数字，用逗号分隔。"))
        qs = qs.filter(pk__in=[int(i) for i in ids])
    else:
        codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
        if codes:
            qs = qs.filter(item__code__in=codes)
        statuses = {s.strip() for s in params.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, _("status 只能是 open 或 closed。"))
        if statuses == {"open"}:
            qs = qs.filter(status__in=ORDER_OPEN_STATES)
        elif statuses == {"closed"}:
            qs = qs.exclude(status__in=ORDER_OPEN_STATES)
        start, end = _window(params)
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
    rows = list(qs.order_by("-created_at", "-pk")[:LIMIT])
    return [request_out(caller, o) for o in rows]


def _window(params: Mapping[str, str]) -> tuple[dt.datetime, dt.datetime]:
    start_raw, end_raw = params.get("start_date", ""), params.get("end_date", "")
    start = parse_time(start_raw, "start_date") if start_raw.strip() else None
    end = parse_time(end_raw, "end_date") if end_raw.strip() else None
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Error(400, _("end_date 不能早于 start_date。"))
    if end - start > WINDOW:
        raise Open311Error(400, _("start_date 到 end_date 最多 90 天。"))
    return start, end


def request_get(caller: Caller, request_id: str) -> list[dict[str, Any]]:
    """GET requests/{service_request_id}: one request, in a list as the spec has it."""
    order = (
        _orders(caller).filter(pk=int(request_id)).first()
        if request_id.isdigit() and len(request_id) < 19
        else None
    )
    if order is None:
        raise Open311Error(404, _("没有编号为 %(id)s 的服务请求。") % {"id": request_id})
    return [request_out(caller, order)]


def _teams(order: Order) -> list[str]:
    names: list[str] = []
    for s in order.slots.all():
        if s.status == SlotStatus.CANCELLED:
            continue
        team = s.member.team if s.member is not None else s.offered_team
        if team is not None and team.name not in names:
            names.append(team.name)
    return names


def status_of(order: Order) -> tuple[str, str]:
    """(open or closed, the status notes): how linli's states read in Open311."""
    teams = join_names(_teams(order)) or _("服务队")
    notes = {
        OrderStatus.SUBMITTED: _("已受理，等待社区派单。"),
        OrderStatus.DISPATCHED: _("已派单给%(team)s，等待队员接单。") % {"team": teams},
        OrderStatus.ACCEPTED: _("%(team)s的队员已接单。") % {"team": teams},
        OrderStatus.IN_SERVICE: _("%(team)s的队员正在服务。") % {"team": teams},
        OrderStatus.COMPLETED: _("服务已完成，等待居民评价。"),
        OrderStatus.RATED: _("服务已完成，居民已评价。"),
        OrderStatus.REJECTED: _("社区未受理这张订单。"),
        OrderStatus.CANCELLED: _("订单已取消。"),
    }
    note = notes.get(OrderStatus(order.status), "")
    if order.status == OrderStatus.SUBMITTED and order.resident_id is None:
        note = _("已受理，社区工作人员正在核实来电人。")
    return ("open" if order.status in ORDER_OPEN_STATES else "closed"), note


def request_out(caller: Caller, order: Order) -> dict[str, Any]:
    """One request as ``caller`` may see it: public fields for everyone; the
    exact place and the description only for the client that placed it."""
    own = caller.client is not None and order.placed_by_id == caller.client.account_id
    center = order.community
    status, notes = status_of(order)
    if own:
        address, lat, lon = order.address, order.lat, order.lon
    else:
        address, lat, lon = center.name, center.lat, center.lon
    return {
        "service_request_id": str(order.pk),
        "status": status,
        "status_notes": notes,
        "service_name": order.item.label,
        "service_code": order.item.code,
        "description": (order.description or None) if own else None,
        "agency_responsible": join_names(_teams(order)) or center.name,
        "service_notice": service_notice(order),
        "requested_datetime": iso(order.created_at),
        "updated_datetime": iso(order.updated_at),
        "expected_datetime": iso(order.complete_deadline),
        "address": address or center.name,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }
