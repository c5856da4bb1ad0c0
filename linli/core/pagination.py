from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet


class LazyMap:
    """A queryset seen through ``fn``, sliced by the paginator before rows are built.

    ninja's paginators slice what an endpoint returns; returning this instead of
    a list keeps the database doing the paging.
    """

    def __init__(self, qs: QuerySet[Any], fn: Callable[[Any], Any]) -> None:
        self.qs, self.fn = qs, fn

    def __getitem__(self, s: slice) -> list[Any]:
        return [self.fn(r) for r in self.qs[s]]

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()
