"""Chinese names: a weighted surname and a one- or two-character given name."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from linli.demo import reference


@dataclass(frozen=True)
class _Cohort:
    born_before: int
    single: float
    first: dict[str, str]
    second: dict[str, str]


class Names:
    def __init__(self, rng: random.Random) -> None:
        data = reference.names()
        self._rng = rng
        self._surnames = list(data["surnames"])
        self._cum = list(itertools.accumulate(data["surnames"].values()))
        self._cohorts = [
            _Cohort(
                born_before=c["born_before"],
                single=c["single"],
                first={g: c[g]["first"] for g in ("M", "F")},
                second={g: c[g]["second"] for g in ("M", "F")},
            )
            for c in data["cohorts"]
        ]

    def surname(self) -> str:
        return self._rng.choices(self._surnames, cum_weights=self._cum)[0]

    def given(self, gender: str, birth_year: int) -> str:
        cohort = next(c for c in self._cohorts if birth_year < c.born_before)
        rng = self._rng
        second = rng.choice(cohort.second[gender])
        if rng.random() < cohort.single:
            return second
        first = rng.choice(cohort.first[gender])
        if first == second and rng.random() < 0.7:
            # 婷婷 and 欢欢 exist, but not as often as a uniform draw makes them.
            second = rng.choice(cohort.second[gender])
        return first + second

    def full(self, gender: str, birth_year: int, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given(gender, birth_year)
