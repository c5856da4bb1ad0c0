"""Resident ID numbers (GB 11643): region, birth date, sequence, check digit."""

from __future__ import annotations

import datetime as dt
import random
import re

# 岑溪市 in GB/T 2260.
CENXI_REGION = "450481"

# ISO 7064 MOD 11-2 over the first 17 digits.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_char(first17: str) -> str:
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid(id_number: str) -> bool:
    """Format, a real birth date and the check digit (not the region)."""
    if not _PATTERN.match(id_number):
        return False
    try:
        dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return False
    return check_char(id_number[:17]) == id_number[17]


class IdNumbers:
    """Hands out unique ID numbers for one run.

    The sequence's last digit is odd for men and even for women, as on real
    cards; uniqueness is kept per birth date, so a run of 720,000 people
    (about 20 per day of birth) almost never needs a second draw.
    """

    def __init__(self, rng: random.Random, region: str = CENXI_REGION) -> None:
        self._rng = rng
        self._region = region
        self._used: set[int] = set()

    def issue(self, birth_date: dt.date, gender: str) -> str:
        base = birth_date.toordinal() * 1000
        male = gender == "M"
        for _attempt in range(2000):
            # 001–999: odd for men, even (never 000) for women.
            seq = 2 * self._rng.randrange(500) + 1 if male else 2 * self._rng.randrange(1, 500)
            if base + seq not in self._used:
                self._used.add(base + seq)
                first17 = f"{self._region}{birth_date:%Y%m%d}{seq:03d}"
                return first17 + check_char(first17)
        raise RuntimeError(f"no free ID sequence left for {birth_date}")
