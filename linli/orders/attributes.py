"""The form a catalog item asks for: its definition, and the answers an order gives.

Each ``ServiceItem`` carries a definition (``ServiceItem.form``, JSON) of what
ordering it asks, read here into an :class:`ItemForm`:

``when``
    ``"urgency"`` (the default: 紧急 / 一般 / 预约, an optional time window),
    ``"date"`` (booked for a day: the date wanted, nothing urgent about it) or
    ``"window"`` (booked for a time: start and end wanted).
``address``
    Whether the service comes to an address (default true); a party at the
    center asks none.
``fields``
    The item's own questions, each ``{"code", "type", "label", "label_en",
    "required", "help", "help_en"}`` with ``"min"``/``"max"`` for a number and
    ``"choices": [{"code", "label", "label_en"}]`` for a choice. Types:
    ``text``, ``number`` (an integer), ``choice``, ``date``, ``boolean``.

One function checks a definition (:func:`parse`: the admin shows its errors)
and one checks an order's answers (:func:`clean_answers`: the service calls
it, whatever the channel -- page, API, phone desk).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from linli.core.models import LocalizedName

WHEN = ("urgency", "date", "window")
TYPES = ("text", "number", "choice", "date", "boolean")
TEXT_MAX = 200
CODE_MAX = 32

# A "date" order's window: the working day of the centers.
DAY_OPENS, DAY_CLOSES = dt.time(8, 0), dt.time(20, 0)


@dataclass(frozen=True)
class Choice:
    code: str
    label_zh: str
    label_en: str = ""

    @property
    def label(self) -> str:
        return LocalizedName.localized(self.label_zh, self.label_en)


@dataclass(frozen=True)
class Question:
    code: str
    type: str
    label_zh: str
    label_en: str = ""
    required: bool = False
    help_zh: str = ""
    help_en: str = ""
    min: int | None = None
    max: int | None = None
    choices: tuple[Choice, ...] = ()

    @property
    def label(self) -> str:
        return LocalizedName.localized(self.label_zh, self.label_en)

    @property
    def help(self) -> str:
        return LocalizedName.localized(self.help_zh, self.help_en)

    def shown(self, value: object) -> str:
        """An answer as the reader reads it."""
        if self.type == "boolean":
            return _("是") if value else _("否")
        if self.type == "choice":
            return next((c.label for c in self.choices if c.code == value), str(value))
        return str(value)


@dataclass(frozen=True)
class ItemForm:
    when: str = "urgency"
    address: bool = True
    questions: tuple[Question, ...] = field(default_factory=tuple)

    @property
    def asks_urgency(self) -> bool:
        return self.when == "urgency"

    @property
    def scheduled_only(self) -> bool:
        return self.when != "urgency"

    def as_json(self) -> dict[str, Any]:
        """The definition as the API shows it (and the admin stores it)."""
        return {
            "when": self.when,
            "address": self.address,
            "fields": [
                {
                    "code": q.code,
                    "type": q.type,
                    "label": q.label_zh,
                    "label_en": q.label_en,
                    "required": q.required,
                    "help": q.help_zh,
                    "help_en": q.help_en,
                    **({"min": q.min, "max": q.max} if q.type == "number" else {}),
                    **(
                        {
                            "choices": [
                                {"code": c.code, "label": c.label_zh, "label_en": c.label_en}
                                for c in q.choices
                            ]
                        }
                        if q.type == "choice"
                        else {}
                    ),
                }
                for q in self.questions
            ],
        }


# --- the definition --------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ValidationError(_("%(where)s的“%(key)s”应为文字。") % {"where": where, "key": key})
    value = value.strip()
    if required and not value:
        raise ValidationError(_("%(where)s缺少“%(key)s”。") % {"where": where, "key": key})
    if len(value) > TEXT_MAX:
        raise ValidationError(_("%(where)s的“%(key)s”太长。") % {"where": where, "key": key})
    return value


def _code(raw: Mapping[str, Any], where: str) -> str:
    code = _text(raw, "code", where, required=True)
    if len(code) > CODE_MAX or not code.replace("_", "").isalnum() or not code.isascii():
        raise ValidationError(_("%(where)s的编码只能用英文字母、数字和下划线。") % {"where": where})
    return code


def _int_or_none(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("%(where)s的“%(key)s”应为整数。") % {"where": where, "key": key})
    return value


def _question(raw: object, n: int) -> Question:
    where = _("第 %(n)d 个问题") % {"n": n}
    if not isinstance(raw, Mapping):
        raise ValidationError(_("%(where)s应是一个对象。") % {"where": where})
    code = _code(raw, where)
    kind = raw.get("type")
    if kind not in TYPES:
        raise ValidationError(
            _("%(where)s的类型应为 %(types)s 之一。") % {"where": where, "types": ", ".join(TYPES)}
        )
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise ValidationError(_("%(where)s的“required”应为 true 或 false。") % {"where": where})
    low, high = _int_or_none(raw, "min", where), _int_or_none(raw, "max", where)
    if low is not None and high is not None and low > high:
        raise ValidationError(_("%(where)s的最小值大于最大值。") % {"where": where})
    choices: list[Choice] = []
    if kind == "choice":
        options = raw.get("choices")
        if not isinstance(options, list) or not options:
            raise ValidationError(_("%(where)s是选择题，需要选项。") % {"where": where})
        for i, option in enumerate(options, 1):
            at = _("%(where)s的第 %(n)d 个选项") % {"where": where, "n": i}
            if not isinstance(option, Mapping):
                raise ValidationError(_("%(where)s应是一个对象。") % {"where": at})
            choices.append(
                Choice(
                    _code(option, at),
                    _text(option, "label", at, True),
                    _text(option, "label_en", at),
                )
            )
        if len({c.code for c in choices}) != len(choices):
            raise ValidationError(_("%(where)s的选项编码重复。") % {"where": where})
    return Question(
        code=code,
        type=kind,
        label_zh=_text(raw, "label", where, required=True),
        label_en=_text(raw, "label_en", where),
        required=required,
        help_zh=_text(raw, "help", where),
        help_en=_text(raw, "help_en", where),
        min=low if kind == "number" else None,
        max=high if kind == "number" else None,
        choices=tuple(choices),
    )


def parse(raw: object) -> ItemForm:
    """A definition read and checked; :class:`ValidationError` says what is wrong."""
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValidationError(_("表单定义应是一个对象。"))
    unknown = set(raw) - {"when", "address", "fields"}
    if unknown:
        raise ValidationError(
            _("表单定义中有不认识的项：%(keys)s。") % {"keys": ", ".join(sorted(unknown))}
        )
    when = raw.get("when", "urgency")
    if when not in WHEN:
        raise ValidationError(_("“when”应为 urgency、date 或 window。"))
    address = raw.get("address", True)
    if not isinstance(address, bool):
        raise ValidationError(_("“address”应为 true 或 false。"))
    fields = raw.get("fields", [])
    if not isinstance(fields, list):
        raise ValidationError(_("“fields”应是一个列表。"))
    questions = tuple(_question(q, n) for n, q in enumerate(fields, 1))
    codes = [q.code for q in questions]
    if len(set(codes)) != len(codes):
        raise ValidationError(_("问题的编码重复。"))
    return ItemForm(when=when, address=address, questions=questions)


# --- an order's answers ------------------------------------------------------------


class Problems(Exception):
    """Answers that do not fit: ``{"attributes.<code>": message}``."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields)
        self.fields = fields


def _answer(q: Question, value: object) -> object:
    if q.type == "text":
        if not isinstance(value, str):
            raise ValueError(_("请填写文字。"))
        value = value.strip()
        if len(value) > TEXT_MAX:
            raise ValueError(_("最多 %(n)d 个字。") % {"n": TEXT_MAX})
        return value
    if q.type == "number":
        if isinstance(value, bool):
            raise ValueError(_("请填写一个整数。"))
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int):
            raise ValueError(_("请填写一个整数。"))
        if q.min is not None and value < q.min:
            raise ValueError(_("最少 %(n)d。") % {"n": q.min})
        if q.max is not None and value > q.max:
            raise ValueError(_("最多 %(n)d。") % {"n": q.max})
        return value
    if q.type == "choice":
        if value not in {c.code for c in q.choices}:
            raise ValueError(_("请从选项中选择一项。"))
        return value
    if q.type == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(_("请填写日期，如 2026-07-01。")) from None
    # boolean
    if isinstance(value, bool):
        return value
    if value in ("true", "on", "yes", "1", 1):
        return True
    if value in ("false", "no", "0", 0):
        return False
    raise ValueError(_("请选择是或否。"))


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_answers(form: ItemForm, answers: Mapping[str, object] | None) -> dict[str, object]:
    """The order's answers to ``form``'s questions, checked and normalised.

    Raises :class:`Problems` naming each answer that does not fit (missing,
    of the wrong kind, out of range, not among the choices, not asked).
    """
    answers = dict(answers or {})
    problems: dict[str, str] = {}
    known = {q.code for q in form.questions}
    for code in answers:
        if code not in known:
            problems[f"attributes.{code}"] = _("这个服务项目没有这一项。")
    out: dict[str, object] = {}
    for q in form.questions:
        value = answers.get(q.code)
        if _empty(value):
            if q.required:
                problems[f"attributes.{q.code}"] = _("请填写“%(label)s”。") % {"label": q.label}
            continue
        try:
            out[q.code] = _answer(q, value)
        except ValueError as exc:
            problems[f"attributes.{q.code}"] = f"{q.label}：{exc}"
    if problems:
        raise Problems(problems)
    return out


def shown(form: ItemForm, answers: Mapping[str, object]) -> list[tuple[str, str]]:
    """The answers as the order page lists them: (label, answer) in the reader's language."""
    return [(q.label, q.shown(answers[q.code])) for q in form.questions if q.code in answers]


def day_window(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """A "date" order's window: that day's opening hours."""
    return (
        dt.datetime.combine(day, DAY_OPENS, tzinfo=tz),
        dt.datetime.combine(day, DAY_CLOSES, tzinfo=tz),
    )
