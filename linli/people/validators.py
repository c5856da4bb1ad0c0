"""What a resident's fields may hold: one set of rules for the model, and so for
the pages, the API, the admin and the importer, which all take them from here
(through the model's fields) instead of restating them.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

phone_validator = RegexValidator(
    r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$", _("请输入有效的手机或固话号码。"), code="phone"
)

# ISO 7064 MOD 11-2, as GB 11643 applies it to the first 17 digits.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# First two digits of the region code: provinces per GB/T 2260 (and 71/81/82
# for Taiwan, Hong Kong, Macao residence permits).
ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_birth_date(id_number: str) -> dt.date | None:
    """The birth date an 18-digit ID number carries, or None if it is no date."""
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def id_gender(id_number: str) -> str:
    """'M' or 'F': the sequence's last digit is odd for men (GB 11643)."""
    return "M" if int(id_number[16]) % 2 else "F"


def validate_id_number(value: str) -> None:
    """A resident ID number (GB 11643): 18 characters, region, birth date, check digit."""
    if not ID_PATTERN.match(value):
        raise ValidationError(_("身份证号应为 18 位：17 位数字加 1 位数字或 X。"), code="id_format")
    if value[:2] not in ID_PROVINCES:
        raise ValidationError(_("身份证号的地区码不正确。"), code="id_region")
    if id_birth_date(value) is None:
        raise ValidationError(_("身份证号中的出生日期无效。"), code="id_birth_date")
    if id_check_char(value[:17]) != value[17]:
        raise ValidationError(_("身份证号校验位不正确，请核对是否有错字。"), code="id_checksum")


@deconstructible
class BirthDateValidator:
    """Not before 1900 and not after today (today is read at each call)."""

    message = _("出生日期不合理（应在 1900 年之后且不晚于今天）。")
    code = "birth_date"

    def __call__(self, value: dt.date) -> None:
        if not EARLIEST_BIRTH <= value <= timezone.localdate():
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BirthDateValidator)

    def __hash__(self) -> int:
        return hash(type(self))


validate_birth_date = BirthDateValidator()


def id_number_agreement(id_number: str, birth_date: dt.date | None, gender: str) -> dict[str, str]:
    """Where a valid ID number disagrees with the birth date or gender given beside it.

    Returns ``{"id_number": message}`` (empty when they agree or when one side
    is missing); the messages are translated.
    """
    try:
        validate_id_number(id_number)
    except ValidationError:
        return {}  # the ID number's own error says enough
    embedded = id_birth_date(id_number)
    if embedded and birth_date and embedded != birth_date:
        return {
            "id_number": str(
                _("身份证号中的出生日期（%(date)s）与出生日期不一致。")
                % {"date": embedded.isoformat()}
            )
        }
    if gender and gender != id_gender(id_number):
        label = _("男") if id_gender(id_number) == "M" else _("女")
        return {
            "id_number": str(
                _("身份证号显示性别为“%(gender)s”，与性别不一致。") % {"gender": label}
            )
        }
    return {}
