"""Forms of the order pages. They only parse; the services decide what is allowed.

A service error (``AppError`` with ``.fields`` and ``.message``) is put back on
the form by ``add_app_error`` so that the page shows it next to the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.errors import AppError
from linli.orders import attributes
from linli.orders.models import (
    Channel,
    Order,
    OrderEvent,
    Rating,
    ServiceItem,
    Slot,
    Urgency,
)
from linli.orders.models import field_limit as limit

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from linli.network.models import Center

DATETIME_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _datetime_field(label: StrOrPromise) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=DATETIME_INPUT,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def add_app_error(form: forms.Form, exc: AppError, aliases: dict[str, str] | None = None) -> None:
    """Show a service error on ``form``: each field's message at its field, the rest on top."""
    aliases = aliases or {}
    for name, messages in exc.fields.items():
        field = aliases.get(name, name)
        form.add_error(field if field in form.fields else None, list(messages))
    if not exc.fields or exc.message != str(type(exc).default_message):
        form.add_error(None, exc.message)


def _question_field(q: attributes.Question) -> forms.Field:
    """A page field for one of an item's own questions."""
    common: dict[str, Any] = {"label": q.label, "required": q.required, "help_text": q.help}
    if q.type == "number":
        return forms.IntegerField(
            min_value=q.min,
            max_value=q.max,
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    if q.type == "choice":
        return forms.ChoiceField(
            choices=[(c.code, c.label) for c in q.choices], widget=forms.RadioSelect, **common
        )
    if q.type == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if q.type == "boolean":
        return forms.BooleanField(**common)
    return forms.CharField(max_length=attributes.TEXT_MAX, **common)


class PlaceForm(forms.Form):
    """The resident's short confirm page (群众点单), as the item asks it.

    An item's definition (``ServiceItem.form``) may leave out the urgency
    (booked for a date or a time), the address, and add questions of its own
    (fields ``attr_<code>``); the service checks the answers.
    """

    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    urgency = forms.ChoiceField(
        label=_("紧急程度"),
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        widget=forms.RadioSelect,
    )
    address = forms.CharField(
        label=_("服务地址"),
        required=False,
        max_length=limit(Order, "address"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    description = forms.CharField(
        label=_("需求描述（可不填）"),
        required=False,
        max_length=limit(Order, "description"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    window_start = _datetime_field(_("期望开始时间"))
    window_end = _datetime_field(_("期望结束时间"))

    def __init__(self, *args: Any, asked: attributes.ItemForm | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asked or attributes.ItemForm()
        self.set_asked(self.asked)

    def set_asked(self, asked: attributes.ItemForm) -> None:
        """Shape the fields to what ``asked`` asks (the phone form knows the item late)."""
        self.asked = asked
        if not asked.asks_urgency:
            self.fields.pop("urgency", None)
        if not asked.address:
            self.fields.pop("address", None)
        if asked.when == "date":
            self.fields.pop("window_start", None)
            self.fields.pop("window_end", None)
            self.fields["date"] = forms.DateField(
                label=_("哪一天"), widget=forms.DateInput(attrs={"type": "date"})
            )
        elif asked.when == "window":
            for name in ("window_start", "window_end"):
                self.fields[name].required = True
        for q in asked.questions:
            self.fields[f"attr_{q.code}"] = _question_field(q)

    @property
    def questions(self) -> list[forms.BoundField]:
        return [self[f"attr_{q.code}"] for q in self.asked.questions]

    @property
    def aliases(self) -> dict[str, str]:
        """The service's field names for this form's fields."""
        out = {f"attributes.{q.code}": f"attr_{q.code}" for q in self.asked.questions}
        if self.asked.when == "date":
            out.update(window_start="date", window_end="date")
        return out

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        address = (data.get("address") or "").strip()
        window_start, window_end = data.get("window_start"), data.get("window_end")
        if data.get("date") is not None:
            window_start, window_end = attributes.day_window(
                data["date"], timezone.get_current_timezone()
            )
        answers = {
            q.code: data[f"attr_{q.code}"]
            for q in self.asked.questions
            if data.get(f"attr_{q.code}") not in (None, "")
        }
        return {
            "resident_id": data.get("resident"),
            "urgency": data.get("urgency") or Urgency.SCHEDULED,
            "description": data.get("description") or "",
            "window_start": window_start,
            "window_end": window_end,
            # Empty means "the resident's registered address" (the service's default).
            "address": address or None,
            "attributes": answers,
        }


class PhoneOrderForm(PlaceForm):
    """电话代下单: the dispatcher orders on behalf of a resident."""

    resident = forms.IntegerField(widget=forms.HiddenInput)
    item = forms.ChoiceField(label=_("服务项目"), widget=forms.RadioSelect)
    channel = forms.ChoiceField(
        label=_("渠道"),
        choices=[(Channel.PHONE, Channel.PHONE.label), (Channel.DESK, Channel.DESK.label)],
        initial=Channel.PHONE,
        widget=forms.RadioSelect,
    )
    address = forms.CharField(
        label=_("服务地址（不填则为居民登记住址）"),
        required=False,
        max_length=limit(Order, "address"),
    )
    field_order = ["item", "urgency", "description", "window_start", "window_end", "channel"]

    def __init__(self, *args: Any, items: Iterable[ServiceItem] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        item = self.fields["item"]
        assert isinstance(item, forms.ChoiceField)
        item.choices = [(i.code, f"{i.icon} {i.label}".strip()) for i in self.items]
        # The chosen item's own form: its questions show once it is chosen.
        chosen = self.data.get("item") if self.is_bound else self.initial.get("item")
        picked = next((i for i in self.items if i.code == chosen), None)
        if picked is not None:
            self.set_asked(picked.order_form)

    def service_kwargs(self) -> dict[str, Any]:
        return {
            **super().service_kwargs(),
            "item": self.cleaned_data["item"],
            "channel": self.cleaned_data["channel"],
        }


class ReasonForm(forms.Form):
    """Decline, cancel and reject. Whether a reason is required is the service's call."""

    reason = forms.CharField(
        label=_("原因"),
        required=False,
        max_length=OrderEvent.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NoteForm(forms.Form):
    """Complete (服务记录) and close a follow-up (回访记录)."""

    note = forms.CharField(
        label=_("服务记录"),
        required=False,
        # The same for a follow-up's note (tests hold them equal).
        max_length=limit(Slot, "note"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RateForm(forms.Form):
    resolved = forms.TypedChoiceField(
        label=_("问题解决了吗？"),
        choices=[("yes", _("已解决")), ("no", _("未解决"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择问题是否已解决。")},
    )
    satisfaction = forms.TypedChoiceField(
        label=_("满意度"),
        choices=[(str(v), label) for v, label in Rating.Satisfaction.choices],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意度。")},
    )
    comment = forms.CharField(
        label=_("说几句（可不填）"),
        required=False,
        max_length=limit(Rating, "comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CallbackForm(RateForm):
    """The rating a resident gave on the phone, recorded by the dispatcher (回访)."""

    prefix = "callback"


class LinkResidentForm(forms.Form):
    """待核实: the resident who called (one of the candidates on the order page)."""

    resident = forms.IntegerField(
        widget=forms.HiddenInput, error_messages={"required": _("请选择一位居民。")}
    )


class DispatchForm(forms.Form):
    """One select: a member (``m<id>``) or a team offer (``t<id>``)."""

    target = forms.CharField(
        label=_("派给"), error_messages={"required": _("请选择一名队员或一支服务队。")}
    )
    note = forms.CharField(
        label=_("备注（可不填）"), required=False, max_length=limit(OrderEvent, "note")
    )

    # Service field names that belong to this form's one select.
    ALIASES = {"member": "target", "team": "target", "slot": "target"}

    def clean_target(self) -> tuple[str, int]:
        value = self.cleaned_data["target"].strip()
        if len(value) > 1 and value[0] in "mt" and value[1:].isdigit():
            return value[0], int(value[1:])
        raise forms.ValidationError(_("请选择一名队员或一支服务队。"))

    def service_kwargs(self) -> dict[str, Any]:
        kind, pk = self.cleaned_data["target"]
        return {
            "member_id": pk if kind == "m" else None,
            "team_id": pk if kind == "t" else None,
            "note": self.cleaned_data.get("note") or "",
        }


class QueueFilterForm(forms.Form):
    """The dispatcher console's filters (GET)."""

    status = forms.ChoiceField(label=_("状态"), required=False)
    item = forms.ChoiceField(label=_("服务项目"), required=False)
    urgency = forms.ChoiceField(
        label=_("紧急程度"), required=False, choices=[("", _("全部紧急程度")), *Urgency.choices]
    )
    overdue = forms.BooleanField(label=_("只看超时"), required=False)
    follow_up = forms.BooleanField(label=_("只看待回访"), required=False)
    community = forms.TypedChoiceField(
        label=_("社区"), required=False, coerce=int, empty_value=None
    )
    # From a resident's page: their orders only.
    resident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        statuses: Iterable[tuple[str, StrOrPromise]] = (),
        items: Iterable[ServiceItem] = (),
        communities: Iterable[Center] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        status, item = self.fields["status"], self.fields["item"]
        assert isinstance(status, forms.ChoiceField)
        assert isinstance(item, forms.ChoiceField)
        status.choices = [("", _("全部状态")), *statuses]
        item.choices = [
            ("", _("全部项目")),
            *(
                (i.code, f"{i.label}（{i.community.name}）" if i.community is not None else i.label)
                for i in items
            ),
        ]
        communities = list(communities)
        if communities:
            community = self.fields["community"]
            assert isinstance(community, forms.ChoiceField)
            community.choices = [
                ("", _("全部社区")),
                *((c.pk, c.name) for c in communities),
            ]
        else:
            del self.fields["community"]
