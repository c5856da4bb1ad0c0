"""Positions around Cenxi, in kilometres north and east of a point."""

from __future__ import annotations

import math
import random

KM_PER_DEG_LAT = 111.32


def offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    # Rounded to ~0.1 m: finer digits only make the data harder to compare.
    return (
        round(lat + north_km / KM_PER_DEG_LAT, 6),
        round(lon + east_km / (KM_PER_DEG_LAT * math.cos(math.radians(lat))), 6),
    )


def near(
    rng: random.Random, lat: float, lon: float, sigma_km: float, max_km: float
) -> tuple[float, float]:
    """A point scattered normally around (lat, lon), never farther than max_km."""
    north, east = rng.gauss(0, sigma_km), rng.gauss(0, sigma_km)
    dist = math.hypot(north, east)
    if dist > max_km:
        north, east = north * max_km / dist, east * max_km / dist
    return offset(lat, lon, north, east)
