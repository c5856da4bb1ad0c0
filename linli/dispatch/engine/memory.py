"""Keeping freed memory for the next arrays while a batch runs."""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar


class _FreedMemoryKept:
    """While a batch runs, glibc keeps the memory of freed big arrays for
    the next ones instead of giving it back to the OS at once.

    By default glibc serves allocations over 128 KiB with fresh ``mmap``
    pages and returns them on ``free``, so every temporary array of a few
    MB is faulted in page by page again.  On the VM we run on a page fault
    costs about 2 microseconds; one 10,000-slot batch churns some 35,000
    pages (0.07 s and more, measured with ``ru_minflt``).  Raising the mmap
    and trim thresholds for the duration of the batch keeps those pages in
    the heap.  Afterwards the thresholds go back to glibc's defaults and
    ``malloc_trim`` returns what the batch held.  Nested and concurrent
    batches share one setting (a counter); anything but glibc is left
    alone."""

    M_TRIM_THRESHOLD = -1
    M_MMAP_THRESHOLD = -3
    BATCH_MMAP = 64 << 20
    BATCH_TRIM = 256 << 20
    DEFAULT = 128 << 10  # glibc's default for both

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self.libc: Any = None
        try:
            libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        except (OSError, TypeError):
            libc = None
        if libc is not None and all(
            hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt", "malloc_trim")
        ):
            self.libc = libc

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth == 1 and self.libc is not None:
                self.libc.mallopt(self.M_MMAP_THRESHOLD, self.BATCH_MMAP)
                self.libc.mallopt(self.M_TRIM_THRESHOLD, self.BATCH_TRIM)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self.libc is not None:
                self.libc.mallopt(self.M_MMAP_THRESHOLD, self.DEFAULT)
                self.libc.mallopt(self.M_TRIM_THRESHOLD, self.DEFAULT)
                self.libc.malloc_trim(0)


_freed_memory_kept = _FreedMemoryKept()

_F = TypeVar("_F", bound=Callable[..., Any])


def _keeping_freed_memory(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _freed_memory_kept:
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
