"""The room calendar: the one service that decides whether a room is free.

Everything that occupies a room -- an activity's session, a booking of a
shared venue, a closure -- holds an :class:`~linli.network.models.Occupancy`
made, moved and released here. :func:`room_free` is the one predicate: the
writes below ask it under the room's lock, and the pages and the API ask it
for feedback before anything is sent.

Concurrency: every write locks the room rows it touches (in primary-key
order) before it looks for overlaps, so two writers of one room run one
after the other; on SQLite every transaction takes the write lock at BEGIN,
which serialises them the same way. On PostgreSQL an exclusion constraint
backs the check: an overlap that slipped past it would fail the insert, and
is reported as the same conflict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.boundary import clean_text
from linli.core.errors import Conflict, InvalidInput
from linli.core.rules import ALLOWED, Verdict, refuse
from linli.network.models import Closure, Occupancy, OpeningHours, Room

if TYPE_CHECKING:
    from linli.core.models import User

TITLE_MAX = Occupancy._meta.get_field("title").max_length or 200
# The longest single interval: a closure may last a season; a session a day.
LONGEST = dt.timedelta(days=366)


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


def _span(starts: dt.datetime, ends: dt.datetime) -> str:
    a, b = _local(starts), _local(ends)
    if a.date() == b.date():
        return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M}"
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}"


def overlapping(
    room_ids: Iterable[int], starts: dt.datetime, ends: dt.datetime, exclude: Iterable[int] = ()
) -> list[Occupancy]:
    """The held intervals of these rooms that overlap [starts, ends), earliest first."""
    return list(
        Occupancy.objects.filter(
            room_id__in=list(room_ids), released_at__isnull=True, starts__lt=ends, ends__gt=starts
        )
        .exclude(pk__in=list(exclude))
        .select_related("room")
        .order_by("starts", "pk")
    )


def within_hours(hours: Sequence[OpeningHours], starts: dt.datetime, ends: dt.datetime) -> bool:
    """Whether [starts, ends) lies inside one opening of the center (none set: any time)."""
    if not hours:
        return True
    a, b = _local(starts), _local(ends)
    if a.date() != b.date() and not (
        b.time() == dt.time(0) and b.date() == a.date() + dt.timedelta(1)
    ):
        return False
    end_time = b.time() if b.date() == a.date() else dt.time.max
    return any(
        h.weekday == a.weekday() and h.opens <= a.time() and end_time <= h.closes for h in hours
    )


def hours_text(hours: Sequence[OpeningHours], day: dt.date) -> str:
    """The openings on ``day``'s weekday, as the refusal names them."""
    spans = [f"{h.opens:%H:%M}–{h.closes:%H:%M}" for h in hours if h.weekday == day.weekday()]
    return "、".join(spans) if spans else _("不开放")


def _shape(starts: dt.datetime, ends: dt.datetime) -> Verdict:
    if timezone.is_naive(starts) or timezone.is_naive(ends):
        return refuse(_("时间需要带时区。"), "invalid", "starts")
    if ends <= starts:
        return refuse(_("结束时间要晚于开始时间。"), "invalid", "ends")
    if ends - starts > LONGEST:
        return refuse(_("一次占用最长一年。"), "invalid", "ends")
    return ALLOWED


def room_free(
    room: Room,
    starts: dt.datetime,
    ends: dt.datetime,
    *,
    exclude: Iterable[int] = (),
    closure: bool = False,
) -> Verdict:
    """May ``room`` be occupied over [starts, ends)? The one answer, with its reason.

    Refused (a conflict, on ``starts``) when the center is not open then
    (closures ignore opening hours), or when a held interval overlaps it --
    the refusal names it ("已被「红歌大家唱」占用：2026-07-07 09:00–11:00").
    ``exclude``: intervals being moved, which do not count against themselves.
    """
    return room_free_many(room, [(starts, ends)], exclude=exclude, closure=closure)[0]


def room_free_many(
    room: Room,
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    exclude: Iterable[int] = (),
    closure: bool = False,
) -> list[Verdict]:
    """:func:`room_free` for each of ``spans`` (a series), in two queries."""
    shapes = [_shape(a, b) for a, b in spans]
    good = [span for span, shape in zip(spans, shapes, strict=True) if shape]
    if not good:
        return shapes
    hours = [] if closure else list(OpeningHours.objects.filter(center_id=room.center_id))
    held = overlapping([room.pk], min(a for a, _b in good), max(b for _a, b in good), exclude)
    out: list[Verdict] = []
    for (a, b), shape in zip(spans, shapes, strict=True):
        if not shape:
            out.append(shape)
        elif not within_hours(hours, a, b):
            day = _local(a).date()
            out.append(
                refuse(
                    _("%(center)s 在这个时间不开放（%(weekday)s：%(hours)s）。")
                    % {
                        "center": room.center.name,
                        "weekday": OpeningHours.Weekday(day.weekday()).label,
                        "hours": hours_text(hours, day),
                    },
                    "conflict",
                    "starts",
                )
            )
        else:
            clash = next((o for o in held if o.starts < b and o.ends > a), None)
            out.append(_taken(clash) if clash else ALLOWED)
    return out


def conflicts_error(verdicts: Sequence[Verdict]) -> Conflict:
    """One 409 for a series: how many sessions cannot be had, and the first five reasons."""
    bad = [v for v in verdicts if not v]
    shown = [v.reason for v in bad[:5]]
    if len(bad) > len(shown):
        shown.append(_("还有 %(n)d 场也冲突。") % {"n": len(bad) - len(shown)})
    if len(verdicts) == 1:
        return Conflict(bad[0].reason, fields={bad[0].field or "starts": bad[0].reason})
    return Conflict(_("有 %(n)d 场排不进这个功能室。") % {"n": len(bad)}, fields={"starts": shown})


def _taken(other: Occupancy) -> Verdict:
    if other.kind == Occupancy.Kind.CLOSURE:
        message = _("%(room)s 闭馆（%(title)s）：%(span)s。")
    else:
        message = _("%(room)s 已被「%(title)s」占用：%(span)s。")
    return refuse(
        message
        % {"room": other.room.name, "title": other.title, "span": _span(other.starts, other.ends)},
        "conflict",
        "starts",
    )


def rooms_lock(room_ids: Iterable[int]) -> dict[int, Room]:
    """Lock these rooms' rows (in primary-key order) until the transaction ends."""
    rooms = (
        Room.objects.select_for_update(of=("self",))
        .select_related("center")
        .filter(pk__in=sorted(set(room_ids)))
        .order_by("pk")
    )
    return {r.pk: r for r in rooms}


def _title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput(fields={"title": _("请填写名称。")})
    return title[:TITLE_MAX]


@contextmanager
def _backstop(
    room_id: int, starts: dt.datetime, ends: dt.datetime, exclude: Iterable[int] = ()
) -> Iterator[None]:
    """Write inside a savepoint; an overlap the exclusion constraint refused (a writer
    that skipped the lock) is the same conflict, naming what holds the room."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        clash = overlapping([room_id], starts, ends, exclude)
        if clash:
            raise _taken(clash[0]).error() from exc
        raise


def _insert(occupancy: Occupancy) -> Occupancy:
    with _backstop(occupancy.room_id, occupancy.starts, occupancy.ends):
        occupancy.save()
    return occupancy


def room_lock(room_id: int) -> Room:
    """Lock the room's row until the transaction ends (the calendar's writers queue on it)."""
    room = rooms_lock([room_id]).get(room_id)
    if room is None:
        raise InvalidInput(fields={"room": _("没有这个功能室。")})
    return room


def room_occupy(
    *, room_id: int, starts: dt.datetime, ends: dt.datetime, kind: str, title: str
) -> Occupancy:
    """Put [starts, ends) on the room's calendar, or raise the reason it cannot be.

    Opens (or joins) a transaction and holds the room's row lock to its end:
    call it inside the transaction that makes the holder, so the holder and
    its interval commit together."""
    return room_occupy_many(room_id=room_id, spans=[(starts, ends)], kind=kind, title=title)[0]


def room_occupy_many(
    *,
    room_id: int,
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    kind: str,
    title: str,
) -> list[Occupancy]:
    """Put every one of ``spans`` on the room's calendar, or none (a 409 naming the conflicts)."""
    title = _title(title)
    if not spans:
        return []
    with transaction.atomic():
        room = room_lock(room_id)
        verdicts = room_free_many(room, spans, closure=kind == Occupancy.Kind.CLOSURE)
        if not all(verdicts):
            if all(v.kind == "invalid" for v in verdicts if not v):
                next(v for v in verdicts if not v).check()
            raise conflicts_error(verdicts)
        rows = [Occupancy(room=room, kind=kind, title=title, starts=a, ends=b) for a, b in spans]
        with _backstop(room.pk, min(a for a, _b in spans), max(b for _a, b in spans)):
            Occupancy.objects.bulk_create(rows)
        return rows


def room_move(
    occupancy: Occupancy,
    *,
    room_id: int | None = None,
    starts: dt.datetime | None = None,
    ends: dt.datetime | None = None,
    title: str | None = None,
) -> Occupancy:
    """Move a held interval to another time or room (what is not given stays)."""
    with transaction.atomic():
        new_room = room_id if room_id is not None else occupancy.room_id
        rooms = rooms_lock({occupancy.room_id, new_room})
        current = Occupancy.objects.select_for_update().get(pk=occupancy.pk)
        if not current.held:
            raise Conflict(_("这段占用已经释放了。"))
        room = rooms.get(new_room)
        if room is None:
            raise InvalidInput(fields={"room": _("没有这个功能室。")})
        current.room = room
        current.starts = starts or current.starts
        current.ends = ends or current.ends
        if title is not None:
            current.title = _title(title)
        room_free(
            room,
            current.starts,
            current.ends,
            exclude=[current.pk],
            closure=current.kind == Occupancy.Kind.CLOSURE,
        ).check()
        with _backstop(room.pk, current.starts, current.ends, [current.pk]):
            current.save(update_fields=["room", "starts", "ends", "title"])
        occupancy.__dict__.update(
            room_id=current.room_id, starts=current.starts, ends=current.ends, title=current.title
        )
        Occupancy.room.field.set_cached_value(occupancy, room)
        return occupancy


def room_release(occupancies: Iterable[Occupancy]) -> int:
    """Free these intervals (kept for the record); how many were still held."""
    ids = [o.pk for o in occupancies]
    now = timezone.now()
    n = Occupancy.objects.filter(pk__in=ids, released_at__isnull=True).update(released_at=now)
    for o in occupancies:
        o.released_at = o.released_at or now
    return n


# --- closures ---------------------------------------------------------------------

# Holders of intervals a closure covers (an activity's sessions, a booking) live in
# apps above this one: each registers, for its kind, a function that cancels the
# holders of the given intervals (and tells whoever signed up), inside the
# closure's transaction.
ClosureCancel = Callable[[list[Occupancy], Closure, "User | None"], None]
_ON_CLOSURE: dict[str, ClosureCancel] = {}


def on_closure(kind: str) -> Callable[[ClosureCancel], ClosureCancel]:
    """Register ``fn(occupancies, closure, actor)`` as the canceller of ``kind``'s holders."""

    def register(fn: ClosureCancel) -> ClosureCancel:
        _ON_CLOSURE[kind] = fn
        return fn

    return register


def closure_create(
    *,
    actor: User | None,
    center_id: int,
    room_id: int | None,
    starts: dt.datetime,
    ends: dt.datetime,
    reason: str,
) -> Closure:
    """Close one room, or every room of a center, over [starts, ends).

    What the closure covers is cancelled by its holder's app (sessions are
    cancelled and their sign-ups told); then the closure occupies each room,
    so nothing can be put there while it lasts."""
    _shape(starts, ends).check()
    reason = clean_text(reason, 200, "reason", required=_("请说明闭馆的原因。"))
    with transaction.atomic():
        rooms_q = Room.objects.filter(center_id=center_id)
        if room_id is not None:
            rooms_q = rooms_q.filter(pk=room_id)
        room_ids = list(rooms_q.values_list("pk", flat=True))
        if not room_ids:
            raise InvalidInput(fields={"room": _("没有这个功能室。")})
        rooms = rooms_lock(room_ids)
        closure = Closure.objects.create(
            center_id=center_id,
            room_id=room_id,
            starts=starts,
            ends=ends,
            reason=reason,
            created_by=actor,
        )
        covered = overlapping(room_ids, starts, ends)
        by_kind: dict[str, list[Occupancy]] = {}
        for o in covered:
            by_kind.setdefault(o.kind, []).append(o)
        for kind, cancel in _ON_CLOSURE.items():
            if by_kind.get(kind):
                cancel(by_kind.pop(kind), closure, actor)
        # Whatever no app cancelled (another closure, a holder without a handler) is released.
        room_release([o for os in by_kind.values() for o in os])
        for rid in sorted(rooms):
            _insert(
                Occupancy(
                    room=rooms[rid],
                    kind=Occupancy.Kind.CLOSURE,
                    title=reason[:TITLE_MAX],
                    starts=starts,
                    ends=ends,
                    closure=closure,
                )
            )
        return closure


def closure_lift(closure: Closure) -> None:
    """End a closure early: its rooms are free again (what it cancelled stays cancelled)."""
    with transaction.atomic():
        room_release(list(closure.occupancies.filter(released_at__isnull=True)))
