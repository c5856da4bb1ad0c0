"""Great-circle distances, and points on the unit sphere for the k-d trees
(see the package docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack([cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)])


def _chord_km(chord: np.ndarray | float) -> np.ndarray:
    """Great-circle km for a unit-sphere chord (identical to haversine)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2.0, 1.0))


def _km_chord(km: np.ndarray) -> np.ndarray:
    """Unit-sphere chord for great-circle km (the inverse of :func:`_chord_km`;
    negative km give 0, anything past half the globe the diameter 2)."""
    return 2.0 * np.sin(np.clip(km / (2.0 * EARTH_RADIUS_KM), 0.0, np.pi / 2))


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km (vectorised haversine formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: np.ndarray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return km
