"""Import residents from an .xlsx sheet.

The contract, in the order it is applied:

1. The sheet's first row names the columns (Chinese header or English field
   name, any order). Every later non-blank row is one resident.
2. Every row is validated and every problem is collected as a ``RowError``
   (row number as Excel shows it, header text as written in the sheet,
   translated message). Nothing is written unless the whole sheet is clean.
3. A clean sheet is written in one transaction: residents are matched by ID
   number; a known one is updated, an unknown one created. Columns present in
   the sheet are authoritative for the residents it lists (a blank optional
   cell clears that field, a blank 关爱标签 cell removes the tags); columns
   absent from the sheet are left untouched.

``ImportResult.updated`` counts matched residents that actually changed;
``unchanged`` counts those the sheet already agreed with, so re-importing the
same sheet reports ``created=0, updated=0, unchanged=N``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar

import openpyxl
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.models import AuditLog
from linli.core.roles import IMPORTERS, Role
from linli.core.scoping import require_role
from linli.core.services import audit_record
from linli.core.text import join_names
from linli.network.models import Center
from linli.people.models import CareTag, Resident
from linli.people.validators import id_number_agreement

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.http import HttpRequest

    from linli.core.models import User

log = logging.getLogger(__name__)

T = TypeVar("T")


class Row(NamedTuple):
    number: int
    values: Sequence[Any]


# A 20 MB .xlsx can unpack to far more rows than any community has; the cap
# keeps one upload from holding a worker and memory for minutes.
MAX_ROWS = 50_000
# Bound the number of parameters per query (SQLite allows a few thousand at
# most, PostgreSQL plans long IN lists badly).
QUERY_CHUNK = 500
WRITE_BATCH = 1000

DATE_TEXT = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
TAG_SEPARATORS = re.compile(r"[、,，\s]+")


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the Chinese header: a data format, so deliberately not translated
    required: bool


COLUMNS = (
    Column("name", "姓名", True),
    Column("gender", "性别", True),
    Column("birth_date", "出生日期", True),
    Column("id_number", "身份证号", True),
    Column("phone", "电话", False),
    Column("community", "社区编码", True),
    Column("address", "住址", False),
    Column("lat", "纬度", False),
    Column("lon", "经度", False),
    Column("care_tags", "关爱标签", False),
)
BY_HEADER = {c.label: c for c in COLUMNS} | {c.field: c for c in COLUMNS}

# Resident fields a column writes; care_tags and community are handled apart.
SCALAR_FIELDS = ("name", "gender", "birth_date", "phone", "address", "lat", "lon")


class CellError(Exception):
    """One cell's problem; the message is already translated."""


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    tag_ids: frozenset[int] | None = None  # None: the sheet has no 关爱标签 column


class Sheet:
    """The header's mapping and the error list for one sheet."""

    def __init__(self) -> None:
        self.columns: dict[int, tuple[Column, str]] = {}  # position → (column, header text)
        self.errors: list[RowError] = []

    def header_text(self, field_name: str) -> str:
        for column, header in self.columns.values():
            if column.field == field_name:
                return header
        return next(c.label for c in COLUMNS if c.field == field_name)

    def position(self, header_text: str) -> int:
        for pos, (_column, header) in self.columns.items():
            if header == header_text:
                return pos
        return -1

    def error(self, row: int, field_name: str | None, message: str) -> None:
        column = self.header_text(field_name) if field_name else ""
        self.errors.append(RowError(row=row, column=column, message=message))

    @property
    def present(self) -> set[str]:
        return {column.field for column, _header in self.columns.values()}


def resident_import(
    *,
    actor: User,
    file: UploadedFile | IO[bytes] | str | os.PathLike[str],
    request: HttpRequest | None = None,
) -> ImportResult:
    """Validate a whole residents sheet and, only if it is clean, write it.

    Raises Forbidden unless ``actor`` is a dispatcher (rows of their own
    community only) or the city admin (any community). Every problem with the
    file or its rows comes back in ``ImportResult.errors``, never as an
    exception. Existing residents are locked (``select_for_update``, in ID
    number order) from the scoping check to the commit, so a concurrent edit
    cannot slip between the check and the write; an insert that collides with
    a concurrent import's is retried once as an update. ``request``, when
    given, only supplies the client IP for the audit entry.
    """
    require_role(actor, IMPORTERS)
    rows, file_error = _read_rows(file)
    if file_error:
        return ImportResult(errors=[file_error])

    sheet = Sheet()
    parsed = _parse(actor, sheet, rows)
    if parsed is None:
        return ImportResult(errors=_sorted(sheet))

    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _write(actor, sheet, parsed, _file_name(file), request)
        except IntegrityError:
            # Another import inserted one of our new ID numbers between our
            # lookup and our insert. Its rows are committed now, so a second
            # pass finds them and updates (or reports them as another
            # community's) instead of inserting.
            log.info("resident import lost a race on id_number (attempt %d)", attempt)
    return ImportResult(
        errors=[
            RowError(0, "", _("有人同时在导入相同的居民，本次未导入任何数据。请稍后重新导入。"))
        ]
    )


# Reading --------------------------------------------------------------------


def _read_rows(
    file: UploadedFile | IO[bytes] | str | os.PathLike[str],
) -> tuple[list[Row], RowError | None]:
    """The header and the non-blank rows of the first sheet, or the one file-level error.

    The header comes first even when blank, numbered 1; other rows carry the
    number Excel shows for them.
    """
    if hasattr(file, "seek"):
        file.seek(0)
    source: Any = os.fspath(file) if isinstance(file, (str, os.PathLike)) else file
    rows: list[Row] = []
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
        try:
            worksheet = workbook.worksheets[0]
            # Some generators write a wrong <dimension>; read every cell instead.
            worksheet.reset_dimensions()
            # read_only mode yields an empty row for each gap, so counting is exact.
            for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1):
                if number > 1 and all(_blank(v) for v in values):
                    continue
                if len(rows) > MAX_ROWS:
                    message = _("表格超过 %(max)d 行，请分成几个文件导入。") % {"max": MAX_ROWS}
                    return [], RowError(0, "", message)
                rows.append(Row(number, values))
        finally:
            workbook.close()
    # openpyxl, zipfile and the XML parser each raise their own types on a
    # damaged or foreign file; to the user they all mean "not a readable .xlsx".
    except Exception:
        log.info("unreadable resident import file", exc_info=True)
        return [], RowError(0, "", _("无法读取该文件，请上传用 Excel 或 WPS 保存的 .xlsx 表格。"))
    return rows, None


def _file_name(file: object) -> str:
    if isinstance(file, (str, os.PathLike)):
        return os.path.basename(os.fspath(file))
    return os.path.basename(str(getattr(file, "name", "") or ""))


# Validation -----------------------------------------------------------------


def _parse(actor: User, sheet: Sheet, rows: list[Row]) -> list[ParsedRow] | None:
    """Parse the header and every row into ``sheet``; None if rows cannot be read.

    Row errors are collected in ``sheet.errors``; a row with errors is still
    returned, with the values that did parse, so that sheet-wide checks
    (duplicates, other communities) still see it.
    """
    if not rows or all(_blank(v) for v in rows[0].values):
        sheet.errors.append(RowError(1, "", _("第一行应为列名，例如：姓名、性别、出生日期。")))
        return None
    if not _read_header(sheet, rows[0].values):
        return None

    communities = _communities(rows[1:], sheet)
    tags = _tags_by_key()
    parsers: dict[str, Callable[[Any], Any]] = {
        "name": _parse_name,
        "gender": _parse_gender,
        "birth_date": _parse_birth_date,
        "id_number": _parse_id_number,
        "phone": _parse_phone,
        "community": lambda v: _parse_community(actor, v, communities),
        "address": _parse_address,
        "lat": lambda v: _parse_coordinate(v, "lat"),
        "lon": lambda v: _parse_coordinate(v, "lon"),
        "care_tags": lambda v: _parse_tags(v, tags),
    }
    # A row with something only in unnamed columns (a stray note) is blank too.
    named = list(sheet.columns)
    parsed = [
        _parse_row(sheet, row, parsers)
        for row in rows[1:]
        if not all(_blank(row.values[p]) for p in named if p < len(row.values))
    ]
    if not parsed:
        sheet.errors.append(RowError(2, "", _("表格中没有居民数据。")))
        return None
    _check_duplicates(sheet, parsed)
    return parsed


def _read_header(sheet: Sheet, header: Sequence[Any]) -> bool:
    """Map header cells to columns; False if a required column is missing."""
    seen: dict[str, str] = {}
    for pos, cell in enumerate(header):
        if _blank(cell):
            continue  # trailing formatted-but-empty columns are common
        text = str(cell).strip()
        column = BY_HEADER.get(text) or BY_HEADER.get(text.lower())
        if column is None:
            sheet.errors.append(
                RowError(1, text, _("无法识别的列名，请删除该列或改用规定的列名。"))
            )
        elif column.field in seen:
            sheet.errors.append(
                RowError(1, text, _("与“%(other)s”列重复。") % {"other": seen[column.field]})
            )
        else:
            seen[column.field] = text
            sheet.columns[pos] = (column, text)
    missing = [c for c in COLUMNS if c.required and c.field not in seen]
    for column in missing:
        sheet.errors.append(RowError(1, column.label, _("缺少必填列。")))
    return not missing


def _parse_row(sheet: Sheet, source: Row, parsers: dict[str, Callable[[Any], Any]]) -> ParsedRow:
    number, values = source
    row = ParsedRow(row=number, values={})
    for pos, (column, _header) in sheet.columns.items():
        value = values[pos] if pos < len(values) else None
        if column.required and _blank(value):
            sheet.error(number, column.field, _("此项必填。"))
            continue
        try:
            row.values[column.field] = parsers[column.field](value)
        except CellError as exc:
            sheet.error(number, column.field, str(exc))

    v = row.values
    if "care_tags" in v:
        row.tag_ids = frozenset(t.pk for t in v.pop("care_tags"))
    parsed_point = all(f in v or f not in sheet.present for f in ("lat", "lon"))
    if parsed_point and (v.get("lat") is None) != (v.get("lon") is None):
        # A point needs both; a lone coordinate would put the resident off the map.
        missing = "lon" if v.get("lat") is not None else "lat"
        sheet.error(number, missing, _("纬度和经度需同时填写。"))
    if v.get("id_number"):
        # The model's own rule (Resident.clean), applied to the row.
        for message in id_number_agreement(
            v["id_number"], v.get("birth_date"), v.get("gender", "")
        ).values():
            sheet.error(number, "id_number", message)
    return row


def _check_duplicates(sheet: Sheet, rows: list[ParsedRow]) -> None:
    first: dict[str, int] = {}
    for row in rows:
        id_number = row.values.get("id_number")
        if not id_number:
            continue
        if id_number in first:
            sheet.error(
                row.row,
                "id_number",
                _("与第 %(row)d 行的身份证号重复。") % {"row": first[id_number]},
            )
        else:
            first[id_number] = row.row


def _communities(rows: list[Row], sheet: Sheet) -> dict[str, Center]:
    """The centers the sheet names, by code, in one query."""
    pos = next((p for p, (c, _h) in sheet.columns.items() if c.field == "community"), None)
    if pos is None:
        return {}
    codes = {_text(r.values[pos]) for r in rows if pos < len(r.values)} - {""}
    centers: dict[str, Center] = {}
    for chunk in _chunks(sorted(codes), QUERY_CHUNK):
        centers.update((c.code, c) for c in Center.objects.filter(code__in=chunk))
    return centers


def _tags_by_key() -> dict[str, CareTag]:
    tags: dict[str, CareTag] = {}
    for tag in CareTag.objects.all():
        tags[tag.name] = tag
        tags[tag.code] = tag  # a code wins over a name that happens to equal it
    return tags


def _check(name: str, value: T) -> T:
    """Run the model field's validators (length, format, checksum) on a parsed value.

    The limits are the model's, so the importer cannot accept what the admin,
    the pages or the API refuse, or the other way round.
    """
    try:
        column = Resident._meta.get_field(name)
        assert isinstance(column, models.Field)  # a column of the model, not a reverse relation
        column.run_validators(value)
    except ValidationError as exc:
        raise CellError(" ".join(exc.messages)) from exc
    return value


def _parse_name(value: Any) -> str:
    return _check("name", _text(value))


def _parse_gender(value: Any) -> str:
    text = _text(value).upper()
    genders = {"男": Resident.Gender.MALE, "M": Resident.Gender.MALE}
    genders |= {"女": Resident.Gender.FEMALE, "F": Resident.Gender.FEMALE}
    if text not in genders:
        raise CellError(_("性别请填写“男”或“女”（也可写 M / F）。"))
    return genders[text]


def _parse_birth_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        date = value.date()
    elif isinstance(value, dt.date):
        date = value
    else:
        match = DATE_TEXT.match(_text(value))
        if not match:
            raise CellError(_("出生日期格式应为 1950-03-05 或 1950/03/05，或使用 Excel 日期格式。"))
        try:
            date = dt.date(*(int(g) for g in match.groups()))
        except ValueError as exc:
            raise CellError(_("出生日期不是有效的日期。")) from exc
    return _check("birth_date", date)


def _parse_id_number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: the last three are already lost.
        raise CellError(
            _("身份证号被 Excel 当成了数字，末几位已丢失。请把该列设为“文本”后重新填写。")
        )
    return _check("id_number", _text(value).replace(" ", "").upper())


def _parse_phone(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _check("phone", re.sub(r"\s", "", _text(value)))


def _parse_community(actor: User, value: Any, communities: dict[str, Center]) -> Center:
    center = communities.get(_text(value))
    if center is None:
        raise CellError(_("社区编码不存在。"))
    if center.kind != Center.Kind.COMMUNITY:
        raise CellError(_("该编码不是社区中心。"))
    if actor.role != Role.CITY and center.pk != actor.community_id:
        raise CellError(_("不属于您的社区，不能导入。"))
    return center


def _parse_address(value: Any) -> str:
    return _check("address", _text(value))


def _parse_coordinate(value: Any, name: str) -> float | None:
    if _blank(value):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value if isinstance(value, (int, float)) else _text(value))
    except ValueError as exc:
        raise CellError(_("请填写数字，例如 22.918。")) from exc
    if not math.isfinite(number):
        raise CellError(_("请填写数字，例如 22.918。"))
    return _check(name, number)


def _parse_tags(value: Any, tags: dict[str, CareTag]) -> list[CareTag]:
    found: list[CareTag] = []
    unknown: list[str] = []
    for key in TAG_SEPARATORS.split(_text(value)):
        if not key:
            continue
        tag = tags.get(key) or tags.get(key.lower())
        if tag is None:
            unknown.append(key)
        elif tag not in found:
            found.append(tag)
    if unknown:
        names = join_names(sorted({t.name for t in tags.values()}))
        raise CellError(
            _("没有这个关爱标签：%(unknown)s。可用的有：%(names)s。")
            % {"unknown": join_names(unknown), "names": names}
        )
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sorted(sheet: Sheet) -> list[RowError]:
    """Errors by row, then in the sheet's column order, as a reader scans them."""
    # Header errors (row 1 and the file-level row 0) stay in the order found.
    return sorted(sheet.errors, key=lambda e: (e.row, sheet.position(e.column) if e.row > 1 else 0))


# Writing --------------------------------------------------------------------


def _write(
    actor: User,
    sheet: Sheet,
    rows: list[ParsedRow],
    file_name: str,
    request: HttpRequest | None,
) -> ImportResult:
    """Scope-check matched residents under lock and, if all is clean, write.

    Runs inside the caller's transaction. Returns without writing anything if
    any error was found, in this pass or before.
    """
    ids = sorted(r.values["id_number"] for r in rows if r.values.get("id_number"))
    existing = _lock_existing(ids)
    for row in rows:
        resident = existing.get(row.values.get("id_number", ""))
        if resident is None or actor.role == Role.CITY:
            continue
        if resident.community_id != actor.community_id:
            # Say only that it exists elsewhere: where, and whose, is not ours to tell.
            sheet.error(row.row, "id_number", _("该身份证号已登记在其他社区。"))
    if sheet.errors:
        return ImportResult(errors=_sorted(sheet))

    present = sheet.present
    fields = [f for f in SCALAR_FIELDS if f in present] + ["community"]
    current_tags = (
        _current_tags([r.pk for r in existing.values()]) if "care_tags" in present else {}
    )
    now = timezone.now()
    new: list[tuple[Resident, ParsedRow]] = []
    changed: list[Resident] = []
    changed_fields: set[str] = set()
    retag: dict[int, frozenset[int]] = {}
    touched: list[int] = []  # matched residents that changed, fields or tags
    unchanged = 0
    for row in rows:
        resident = existing.get(row.values["id_number"])
        if resident is None:
            resident = Resident(id_number=row.values["id_number"])
            _assign(resident, row, fields)
            resident.refresh_search_keys()
            new.append((resident, row))
            continue
        dirty = _assign(resident, row, fields)
        tags_dirty = row.tag_ids is not None and row.tag_ids != current_tags.get(
            resident.pk, frozenset()
        )
        if dirty:
            resident.refresh_search_keys()
            changed.append(resident)
            changed_fields |= dirty
        if tags_dirty:
            retag[resident.pk] = row.tag_ids  # type: ignore[assignment]
        if dirty or tags_dirty:
            touched.append(resident.pk)
        else:
            unchanged += 1

    created = Resident.objects.bulk_create([r for r, _row in new], batch_size=WRITE_BATCH)
    if any(r.pk is None for r in created):
        # Backends that cannot return ids from a bulk insert: look them up.
        pks = _pks_by_id_number([r.id_number for r in created])
        for r in created:
            r.pk = pks[r.id_number]
    if changed:
        # bulk_update costs a CASE arm per row and field, mostly in Python:
        # send only the columns that changed somewhere.
        update_fields = sorted(changed_fields)
        if "name" in changed_fields:
            update_fields += ["name_initials", "name_pinyin"]
        if "phone" in changed_fields:
            update_fields.append("phone_tail")
        Resident.objects.bulk_update(changed, update_fields, batch_size=WRITE_BATCH)
    # bulk_update skips auto_now; one value for all is a plain UPDATE.
    for chunk in _chunks(touched, QUERY_CHUNK):
        Resident.objects.filter(pk__in=chunk).update(updated_at=now)
    _set_tags(
        replace=retag,
        add={resident.pk: row.tag_ids for resident, row in new if row.tag_ids},
    )

    result = ImportResult(created=len(new), updated=len(touched), unchanged=unchanged)
    codes = list(dict.fromkeys(r.values["community"].code for r in rows))
    audit_record(
        actor=actor,
        action=AuditLog.Action.IMPORT,
        target=rows[0].values["community"],
        detail=(
            f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
            f"communities {','.join(codes)[:60]}, file {file_name[:100]}"
        ),
        request=request,
    )
    return result


def _assign(resident: Resident, row: ParsedRow, fields: Iterable[str]) -> set[str]:
    """Copy the row's values onto ``resident``; the names of the fields that differed."""
    dirty: set[str] = set()
    for name in fields:
        if name == "community":
            value: Any = row.values["community"].pk
            attr = "community_id"
        else:
            value, attr = row.values[name], name
        if resident.pk is None or getattr(resident, attr) != value:
            setattr(resident, attr, value)
            dirty.add(name)
    return dirty


def _lock_existing(ids: list[str]) -> dict[str, Resident]:
    """Residents with these ID numbers, locked in ID number order."""
    found: dict[str, Resident] = {}
    for chunk in _chunks(ids, QUERY_CHUNK):
        qs = Resident.objects.filter(id_number__in=chunk).order_by("id_number")
        found.update((r.id_number, r) for r in qs.select_for_update())
    return found


def _pks_by_id_number(ids: list[str]) -> dict[str, int]:
    pks: dict[str, int] = {}
    for chunk in _chunks(ids, QUERY_CHUNK):
        pks.update(Resident.objects.filter(id_number__in=chunk).values_list("id_number", "pk"))
    return pks


def _current_tags(resident_ids: list[int]) -> dict[int, frozenset[int]]:
    through = Resident.care_tags.through
    tags: dict[int, set[int]] = {}
    for chunk in _chunks(resident_ids, QUERY_CHUNK):
        for resident_id, tag_id in through.objects.filter(resident_id__in=chunk).values_list(
            "resident_id", "caretag_id"
        ):
            tags.setdefault(resident_id, set()).add(tag_id)
    return {k: frozenset(v) for k, v in tags.items()}


def _set_tags(*, replace: dict[int, frozenset[int]], add: dict[int, frozenset[int]]) -> None:
    """Write care tags through the M2M table in bulk.

    ``replace``: residents whose current tags are dropped first; ``add``: new
    residents, who have none yet.
    """
    through = Resident.care_tags.through
    for chunk in _chunks(sorted(replace), QUERY_CHUNK):
        through.objects.filter(resident_id__in=chunk).delete()
    links = [
        through(resident_id=resident_id, caretag_id=tag_id)
        for tags in (replace, add)
        for resident_id, tag_ids in tags.items()
        for tag_id in sorted(tag_ids)
    ]
    through.objects.bulk_create(links, batch_size=WRITE_BATCH)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
