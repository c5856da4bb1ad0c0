"""Hour-of-week masks and skill bitmasks (layout: see the package docstring)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

HOURS_PER_WEEK = 168
MASK_WORDS = 3
MAX_SKILLS = 64
_WORD = 64
_ALL_WORD = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
# Word 2 only uses bits 128..167 -> 40 bits.
_LAST_WORD = np.uint64((1 << (HOURS_PER_WEEK - 2 * _WORD)) - 1)


def _mask_from_hours(hours: Iterable[int]) -> np.ndarray:
    words = [0, 0, 0]
    for h in hours:
        h %= HOURS_PER_WEEK
        words[h // _WORD] |= 1 << (h % _WORD)
    return np.array(words, dtype=np.uint64)


def full_mask() -> np.ndarray:
    """All 168 hours set: "always available" / "any time"."""
    return np.array([_ALL_WORD, _ALL_WORD, _LAST_WORD], dtype=np.uint64)


def _hours_touched(start_min: int, end_min: int) -> range:
    """Hours (counted from Monday 00:00, may exceed 167) overlapping the
    half-open minute interval [start_min, end_min) with positive length."""
    first = start_min // 60
    last = (end_min - 1) // 60  # an interval ending exactly on the hour stops before it
    return range(first, last + 1)


def weekly_mask(intervals: Iterable[tuple[int, int, int]]) -> np.ndarray:
    """Availability mask from ``[(weekday, start_minute, end_minute), ...]``.

    ``weekday`` 0 = Monday .. 6 = Sunday; minutes are local wall-clock minutes
    since midnight, ``0 <= start_minute < 1440`` and ``0 < end_minute <= 1440``.
    ``end_minute <= start_minute`` means the interval runs past midnight into
    the next day (Sunday wraps to Monday).  An hour is set when any part of it
    is inside an interval.  Returns shape ``(3,)`` uint64.
    """
    hours: list[int] = []
    for weekday, start, end in intervals:
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {weekday}")
        if not (0 <= start < 1440 and 0 < end <= 1440):
            raise ValueError(f"minutes out of range: {start}-{end}")
        base = weekday * 1440
        stop = end if end > start else end + 1440
        hours.extend(_hours_touched(base + start, base + stop))
    return _mask_from_hours(hours)


def _wall_clock(value: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    if value.tzinfo is not None and tz is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None)


def window_mask(start: dt.datetime, end: dt.datetime) -> np.ndarray:
    """Mask of the hours-of-week touched by the window ``[start, end)``.

    Naive and aware datetimes are both read as local wall-clock time (an aware
    ``end`` is first converted to ``start``'s time zone, so pass local times).
    A window of a week or longer sets every bit; a window crossing Sunday ->
    Monday wraps to bit 0.  ``end == start`` marks the single hour containing
    ``start``; ``end < start`` is an error.  Returns shape ``(3,)`` uint64.
    """
    a = _wall_clock(start, start.tzinfo)
    b = _wall_clock(end, start.tzinfo)
    if b < a:
        raise ValueError("window ends before it starts")
    if b - a >= dt.timedelta(days=7):
        return full_mask()
    start_min = a.weekday() * 1440 + a.hour * 60 + a.minute
    # Seconds inside the last minute still touch that minute.
    span = b - a
    span_min = math.ceil(span.total_seconds() / 60 + (a.second + a.microsecond / 1e6) / 60)
    end_min = start_min + max(span_min, 1)
    return _mask_from_hours(_hours_touched(start_min, end_min))


def masks_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise "do the hour masks intersect" for broadcastable ``(..., 3)``."""
    a, b = np.asarray(a), np.asarray(b)
    # word by word: far faster than ``(a & b).any(axis=-1)`` on long arrays
    acc = np.bitwise_and(a[..., 0], b[..., 0])
    for word in range(1, MASK_WORDS):
        acc |= np.bitwise_and(a[..., word], b[..., word])
    overlap: np.ndarray = acc != 0
    return overlap


def _mask_columns(masks: np.ndarray) -> tuple[np.ndarray, ...]:
    """The words of ``(n, 3)`` masks as contiguous arrays (fast gathers)."""
    return tuple(np.ascontiguousarray(masks[:, word]) for word in range(MASK_WORDS))


def _overlap_at(
    a: tuple[np.ndarray, ...], ia: np.ndarray, b: tuple[np.ndarray, ...], ib: np.ndarray
) -> np.ndarray:
    """``masks_overlap(A[ia], B[ib])`` for masks given by :func:`_mask_columns`."""
    acc = np.take(a[0], ia)
    acc &= np.take(b[0], ib)
    for word in range(1, MASK_WORDS):
        part = np.take(a[word], ia)
        part &= np.take(b[word], ib)
        acc |= part
    overlap: np.ndarray = acc != 0
    return overlap


def skills_mask(skills: Iterable[int]) -> np.uint64:
    """uint64 bitmask of skill codes (each ``0 <= code < 64``)."""
    value = 0
    for code in skills:
        code = int(code)
        if not 0 <= code < MAX_SKILLS:
            raise ValueError(f"skill code {code} outside 0..{MAX_SKILLS - 1}")
        value |= 1 << code
    return np.uint64(value)


def _as_mask(value: Any) -> np.ndarray:
    if value is None:
        return full_mask()
    arr = np.asarray(value, dtype=np.uint64).reshape(-1)
    if arr.shape != (MASK_WORDS,):
        raise ValueError("an hour mask is 3 uint64 words")
    return arr
