"""Forms of the activity pages. They only parse; the services decide what is allowed.

The new-activity form takes a date, a start and an end time, and the
repetition as weekdays and an end date (or a raw RFC 5545 rule), and turns
them into the service's :class:`~linli.activities.services.ActivityInput`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.activities.models import Activity, Audience, Kind
from linli.activities.services import ActivityInput

if TYPE_CHECKING:
    from linli.network.models import Room
    from linli.teams.models import Team

WEEKDAYS = [
    ("MO", _("周一")),
    ("TU", _("周二")),
    ("WE", _("周三")),
    ("TH", _("周四")),
    ("FR", _("周五")),
    ("SA", _("周六")),
    ("SU", _("周日")),
]
DATETIME_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

# The service's field names → this form's.
ALIASES = {"starts": "start", "ends": "end"}


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


def build_rrule(weekdays: Iterable[str], until: dt.date | None, raw: str = "") -> str:
    """The RFC 5545 rule for "these weekdays until that date" (or the raw rule as given).

    No weekdays but an end date: every day until then. Neither: no rule."""
    raw = (raw or "").strip()
    if raw:
        return raw
    days = [d for d, _label in WEEKDAYS if d in set(weekdays)]
    if not days and until is None:
        return ""
    end = f"UNTIL={until:%Y%m%d}T235959" if until else ""
    if days:
        return ";".join(x for x in ("FREQ=WEEKLY", f"BYDAY={','.join(days)}", end) if x)
    return f"FREQ=DAILY;{end}"


class TimesForm(forms.Form):
    """Where and when: what the conflict feedback needs, and the first part of the new form."""

    room = forms.TypedChoiceField(label=_("功能室"), coerce=int)
    day = forms.DateField(label=_("日期（第一场）"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    weekdays = forms.MultipleChoiceField(
        label=_("每周重复"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    until = forms.DateField(
        label=_("重复到（含这一天）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    rrule = forms.CharField(
        label=_("或者直接填写重复规则（RFC 5545）"),
        required=False,
        max_length=300,
        help_text=_("例如 FREQ=WEEKLY;BYDAY=SA;COUNT=8。填了它，上面的每周重复就不用了。"),
        widget=forms.TextInput(attrs={"placeholder": "FREQ=WEEKLY;BYDAY=SA;COUNT=8"}),
    )

    def __init__(self, *args: Any, rooms: Iterable[Room] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rooms = {r.pk: r for r in rooms}
        room_field = self.fields["room"]
        assert isinstance(room_field, forms.TypedChoiceField)
        room_field.choices = [
            ("", _("— 请选择功能室 —")),
            *(
                (
                    r.pk,
                    _("%(center)s · %(room)s（%(n)d 人）")
                    % {"center": r.center.name, "room": r.name, "n": r.capacity},
                )
                for r in self.rooms.values()
            ),
        ]

    def clean_weekdays(self) -> list[str]:
        return list(self.cleaned_data.get("weekdays") or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("weekdays") and not data.get("until") and not data.get("rrule"):
            self.add_error("until", _("每周重复要选一个结束日期。"))
        return data

    def room_obj(self) -> Room:
        return self.rooms[self.cleaned_data["room"]]

    def times(self) -> tuple[dt.datetime, dt.datetime]:
        day = self.cleaned_data["day"]
        return _local(day, self.cleaned_data["start"]), _local(day, self.cleaned_data["end"])

    def rule(self) -> str:
        data = self.cleaned_data
        return build_rrule(data.get("weekdays") or [], data.get("until"), data.get("rrule") or "")


class ActivityForm(TimesForm):
    """The organiser's new activity: a one-off, a course or a drop-in series."""

    title = forms.CharField(label=_("活动名称"), max_length=100)
    kind = forms.ChoiceField(label=_("活动类型"))
    mode = forms.ChoiceField(
        label=_("报名方式"),
        choices=Activity.Mode.choices,
        initial=Activity.Mode.ONE_OFF,
        widget=forms.RadioSelect,
    )
    capacity = forms.IntegerField(
        label=_("名额"), min_value=1, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    audience = forms.ChoiceField(
        label=_("面向"), choices=Audience.choices, initial=Audience.EVERYONE
    )
    min_age = forms.IntegerField(label=_("最小年龄"), required=False, min_value=0, max_value=120)
    max_age = forms.IntegerField(label=_("最大年龄"), required=False, min_value=0, max_value=120)
    organiser = forms.ChoiceField(
        label=_("主办方"), choices=Activity.Organiser.choices, initial=Activity.Organiser.COMMUNITY
    )
    organiser_name = forms.CharField(
        label=_("主办方名称（可不填）"), max_length=100, required=False
    )
    team = forms.TypedChoiceField(
        label=_("主办服务队"), required=False, coerce=int, empty_value=None
    )
    fee = forms.DecimalField(
        label=_("费用（元，0 为免费）"),
        min_value=Decimal("0"),
        max_digits=7,
        decimal_places=2,
        initial=Decimal("0"),
    )
    signup_opens = forms.DateTimeField(
        label=_("报名开始（可不填：马上开始）"),
        required=False,
        input_formats=DATETIME_INPUT,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    signup_closes = forms.DateTimeField(
        label=_("报名截止（可不填：开始前都能报）"),
        required=False,
        input_formats=DATETIME_INPUT,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    description = forms.CharField(
        label=_("介绍（可不填）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    field_order = [
        "title",
        "kind",
        "mode",
        "room",
        "day",
        "start",
        "end",
        "weekdays",
        "until",
        "rrule",
        "capacity",
        "audience",
        "min_age",
        "max_age",
        "organiser",
        "team",
        "organiser_name",
        "fee",
        "signup_opens",
        "signup_closes",
        "description",
    ]

    def __init__(
        self,
        *args: Any,
        rooms: Iterable[Room] = (),
        kinds: Iterable[Kind] = (),
        teams: Iterable[Team] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, rooms=rooms, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", _("— 请选择 —")), *((k.code, k.label) for k in kinds)]
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.TypedChoiceField)
        team_field.choices = [("", _("不是服务队主办")), *((t.pk, t.name) for t in teams)]

    def service_input(self) -> ActivityInput:
        data = self.cleaned_data
        starts, ends = self.times()
        return ActivityInput(
            title=data["title"],
            kind=data["kind"],
            room=data["room"],
            starts=starts,
            ends=ends,
            capacity=data["capacity"],
            mode=data["mode"],
            rrule=self.rule(),
            audience=data["audience"],
            min_age=data.get("min_age"),
            max_age=data.get("max_age"),
            organiser=data["organiser"],
            organiser_name=data.get("organiser_name") or "",
            team=data.get("team"),
            description=data.get("description") or "",
            signup_opens=data.get("signup_opens"),
            signup_closes=data.get("signup_closes"),
            fee=data["fee"],
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("原因（必填，会告诉报了名的人）"),
        max_length=200,
        widget=forms.TextInput(),
    )


class MoveForm(forms.Form):
    day = forms.DateField(label=_("新日期"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    room = forms.TypedChoiceField(label=_("功能室"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, rooms: Iterable[Room] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        room_field = self.fields["room"]
        assert isinstance(room_field, forms.TypedChoiceField)
        room_field.choices = [
            ("", _("不换功能室")),
            *((r.pk, f"{r.center.name} · {r.name}") for r in rooms),
        ]

    def times(self) -> tuple[dt.datetime, dt.datetime]:
        day = self.cleaned_data["day"]
        return _local(day, self.cleaned_data["start"]), _local(day, self.cleaned_data["end"])


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(
        label=_("名额"), min_value=1, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


class SignupForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    session = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("签到码"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "placeholder": "AB23CD"}
        ),
    )


class MarkForm(forms.Form):
    signup = forms.IntegerField()
    present = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")
