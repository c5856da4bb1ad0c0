"""Per-community figures that other capabilities show on the network tree.

The network sits below people and teams, so it cannot count their rows
itself: each app registers its count when Django starts (``AppConfig.ready``)
and the tree shows whatever has been registered, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CommunityCount:
    key: str
    # n -> "12 位居民": a function, so that each language plurals its own way.
    label: Callable[[int], str]
    # {community id: n}, in one query.
    per_community: Callable[[], dict[int, int]]


_registry: dict[str, CommunityCount] = {}


def register(count: CommunityCount) -> None:
    _registry[count.key] = count


def registered() -> list[CommunityCount]:
    return list(_registry.values())
