"""Masking of personal data for roles that do not need to see it in full."""

from __future__ import annotations

MASK = "*"


def mask_phone(phone: str) -> str:
    """138****5678: keep the network prefix and the last four digits."""
    if not phone:
        return ""
    if len(phone) <= 4:
        return MASK * len(phone)
    head = phone[:3] if len(phone) >= 11 else ""
    return head + MASK * (len(phone) - len(head) - 4) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """450481**********12: keep the region code's first six and the last two."""
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return MASK * len(id_number)
    return id_number[:6] + MASK * (len(id_number) - 8) + id_number[-2:]


def mask_address(address: str) -> str:
    """Keep the street, hide the building and door: 岑溪市岑城镇百花路***."""
    if not address:
        return ""
    keep = max(4, len(address) // 2)
    for marker in ("路", "街", "巷", "道", "村", "小区"):
        at = address.find(marker)
        if 0 <= at < len(address) - 1:
            keep = at + len(marker)
            break
    return address[:keep] + MASK * 3
