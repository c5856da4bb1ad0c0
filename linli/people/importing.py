"""Import residents from an .xlsx sheet (to be completed)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def resident_import(*, actor, file) -> ImportResult:  # type: ignore[no-untyped-def]
    raise NotImplementedError
