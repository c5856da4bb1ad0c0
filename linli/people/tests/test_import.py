"""resident_import and the import page: all-or-nothing, scoped, idempotent."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from linli.core.errors import Forbidden
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.people.importing import ImportResult, RowError, resident_import
from linli.people.models import Resident
from linli.people.selectors import resident_list
from linli.site.testing import RACE_MARKS, Cast, client_for, race

HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "电话",
    "社区编码",
    "住址",
    "纬度",
    "经度",
    "关爱标签",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: dt.date, seq: int, *, male: bool, region: str = "450481") -> str:
    """A valid ID number (GB 11643) for ``birth``; ``seq`` picks the order code."""
    order = seq * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{order:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def xlsx(rows: Iterable[Sequence[Any] | None], name: str = "居民.xlsx") -> SimpleUploadedFile:
    """An upload of a workbook whose first sheet holds ``rows`` (None: blank row)."""
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row) if row is not None else [])
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue(), content_type=XLSX)


ZENG = dt.date(1944, 3, 5)
LI = dt.date(2019, 7, 1)
WANG = dt.date(1950, 12, 31)


def clean_rows(community: str = "baihua") -> list[list[Any]]:
    return [
        HEADER,
        # An Excel date cell, tags by Chinese name with 、
        ["曾庆宝", "男", dt.datetime(1944, 3, 5), make_id(ZENG, 1, male=True), "13807711111",
         community, "百花路12号3栋201", 22.92, 110.99, "独居、空巢"],
        # Text date with slashes, M/F, tags by code with a full-width comma
        ["李小朵", "F", "2019/07/01", make_id(LI, 2, male=False), "0774-3821234",
         community, "", None, None, "left_behind，low_income"],
        # Text date with dashes, padded name, no tags, coordinates as text
        ["  王秀英 ", "女", "1950-12-31", make_id(WANG, 3, male=False), "",
         community, "兴业路1号", "22.93", "111.01", ""],
    ]  # fmt: skip


def count() -> int:
    return Resident.objects.count()


def by_id(id_number: str) -> Resident:
    return Resident.objects.prefetch_related("care_tags").get(id_number=id_number)


def cells(result: ImportResult) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in result.errors}


# The service ------------------------------------------------------------------


def test_clean_sheet_imports_everything(cast: Cast) -> None:
    before = count()
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows()))

    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert count() == before + 3
    zeng = by_id(make_id(ZENG, 1, male=True))
    assert (zeng.name, zeng.gender, zeng.birth_date) == ("曾庆宝", "M", ZENG)
    assert (zeng.community, zeng.address, zeng.lat, zeng.lon) == (
        cast.a.center, "百花路12号3栋201", 22.92, 110.99,
    )  # fmt: skip
    assert {t.code for t in zeng.care_tags.all()} == {"living_alone", "empty_nest"}
    li = by_id(make_id(LI, 2, male=False))
    assert (li.gender, li.birth_date, li.phone) == ("F", LI, "0774-3821234")
    assert {t.code for t in li.care_tags.all()} == {"left_behind", "low_income"}
    wang = by_id(make_id(WANG, 3, male=False))
    assert (wang.name, wang.lat, wang.lon, wang.phone) == ("王秀英", 22.93, 111.01, "")
    assert not wang.care_tags.exists()


def test_imported_residents_are_found_by_search_keys(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows()))

    found = resident_list(cast.a.dispatcher, q="lxd")
    assert [r.name for r in found] == ["李小朵"]
    zeng = by_id(make_id(ZENG, 1, male=True))
    assert (zeng.name_initials, zeng.name_pinyin, zeng.phone_tail) == (
        "zqb", "zengqingbao", "1111",
    )  # fmt: skip
    assert [r.name for r in resident_list(cast.a.dispatcher, q="1111")] == ["曾庆宝"]


def test_english_headers_in_any_order(cast: Cast) -> None:
    rows = [
        ["community", "ID_NUMBER", "name", "birth_date", "gender"],
        ["baihua", make_id(ZENG, 1, male=True).lower(), "曾庆宝", "1944-3-5", "m"],
    ]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert result.ok, result.errors
    assert by_id(make_id(ZENG, 1, male=True)).community == cast.a.center


def test_import_writes_one_audit_entry(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows(), name="百花.xlsx"))

    entry = AuditLog.objects.get(action=AuditLog.Action.IMPORT)
    assert entry.actor == cast.a.dispatcher
    assert (entry.target_type, entry.target_id) == ("network.center", cast.a.center.pk)
    assert "created 3, updated 0" in entry.detail
    assert "百花.xlsx" in entry.detail


def test_bad_sheet_reports_every_error_and_imports_nothing(cast: Cast) -> None:
    elsewhere = make_id(dt.date(1960, 1, 1), 9, male=True)
    Resident.objects.create(
        name="外社区", gender="M", birth_date=dt.date(1960, 1, 1), id_number=elsewhere,
        community=cast.b.center,
    )  # fmt: skip
    good = make_id(ZENG, 1, male=True)
    bad_check = make_id(ZENG, 4, male=True)[:-1] + "0"
    if bad_check == make_id(ZENG, 4, male=True):
        bad_check = bad_check[:-1] + "1"
    header = ["姓名", "性别", "出生日期", "身份证号", "电话", "社区编码", "关爱标签", "备注"]
    rows: list[list[Any] | None] = [
        header,
        ["曾庆宝", "男", ZENG, good, "13807711111", "baihua", "独居", ""],  # 2: good
        ["甲", "男", ZENG, bad_check, "", "baihua", "", ""],  # 3: check digit
        ["乙", "女", dt.date(1950, 1, 2), make_id(LI, 5, male=False), "", "baihua", "", ""],  # 4
        [None, "男", ZENG, make_id(ZENG, 6, male=True), "", "baihua", "", ""],  # 5: no name
        ["丙", "男", ZENG, make_id(ZENG, 7, male=True), "", "baihua", "独居、特别关照", ""],  # 6
        ["丁", "男", ZENG, make_id(ZENG, 8, male=True), "12345", "baihua", "", ""],  # 7: phone
        ["戊", "男", ZENG, make_id(ZENG, 10, male=True), "", "xingye", "", ""],  # 8: other comm.
        ["己", "男", ZENG, good, "", "baihua", "", ""],  # 9: duplicate of row 2
        None,  # 10: blank, skipped
        ["庚", "女", ZENG, make_id(ZENG, 11, male=True), "", "baihua", "", ""],  # 11: gender
        ["辛", "男", ZENG, 450481194403051234, "", "baihua", "", ""],  # 12: numeric cell
        ["壬", "男", dt.date(1960, 1, 1), elsewhere, "", "baihua", "", ""],  # 13: registered in B
        ["癸", "男", "05.03.1944", make_id(ZENG, 12, male=True), "", "nowhere", "", ""],  # 14
    ]
    before = count()
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert not result.ok
    assert cells(result) == {
        (1, "备注"),
        (3, "身份证号"),
        (4, "身份证号"),
        (5, "姓名"),
        (6, "关爱标签"),
        (7, "电话"),
        (8, "社区编码"),
        (9, "身份证号"),
        (11, "身份证号"),
        (12, "身份证号"),
        (13, "身份证号"),
        (14, "出生日期"),
        (14, "社区编码"),
    }
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "校验位" in messages[(3, "身份证号")]
    assert "出生日期" in messages[(4, "身份证号")]
    assert "特别关照" in messages[(6, "关爱标签")]
    assert "不属于您的社区" in messages[(8, "社区编码")]
    assert "第 2 行" in messages[(9, "身份证号")]
    assert "性别" in messages[(11, "身份证号")]
    assert messages[(13, "身份证号")] == "该身份证号已登记在其他社区。"
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert (result.created, result.updated) == (0, 0)
    assert count() == before
    assert not Resident.objects.filter(id_number=good).exists()
    assert not AuditLog.objects.filter(action=AuditLog.Action.IMPORT).exists()


def test_missing_required_columns_are_reported_once(cast: Cast) -> None:
    rows = [["姓名", "电话"], ["曾庆宝", "13807711111"], ["李小朵", "13807712222"]]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert cells(result) == {(1, "性别"), (1, "出生日期"), (1, "身份证号"), (1, "社区编码")}


def test_duplicate_column_is_an_error(cast: Cast) -> None:
    rows = [[*HEADER, "name"], clean_rows()[1] + ["曾庆宝"]]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert cells(result) == {(1, "name")}
    assert count() == 2  # the cast's two residents


@pytest.mark.parametrize(
    ("id_number", "ok"),
    [
        ("11010519491231002X", True),  # the GB 11643 example, check digit X
        ("11010519491231002x", True),
        ("11010519491231002", False),  # 17 characters
        ("110105194912310021", False),  # wrong check digit
        ("99010519491231002X", False),  # no such province
        ("11010519491331002X", False),  # month 13
        ("1101051949123100ZX", False),
    ],
)
def test_id_number_format(cast: Cast, id_number: str, ok: bool) -> None:
    rows = [HEADER[:6], ["王建国", "女", "1949-12-31", id_number, "", "baihua"]]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert result.ok is ok, result.errors
    if not ok:
        assert cells(result) == {(2, "身份证号")}


@pytest.mark.parametrize(
    ("lat", "lon", "bad"),
    [(None, None, set()), (22.9, None, {(2, "经度")}), (91, 110.9, {(2, "纬度")}),
     (22.9, "东经", {(2, "经度")}), (22.9, -181, {(2, "经度")})],
)  # fmt: skip
def test_coordinates_are_optional_numeric_and_in_range(
    cast: Cast, lat: object, lon: object, bad: set[tuple[int, str]]
) -> None:
    row = clean_rows()[1]
    row[7:9] = [lat, lon]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx([HEADER, row]))

    assert cells(result) == bad


def test_reimport_updates_instead_of_duplicating(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows()))
    before = count()
    rows = clean_rows()
    rows[1][4] = "13907745678"  # 曾庆宝 has a new phone
    rows[2][9] = "留守儿童"  # 李小朵 is no longer 低保

    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    assert count() == before
    zeng = by_id(make_id(ZENG, 1, male=True))
    assert (zeng.phone, zeng.phone_tail) == ("13907745678", "5678")
    assert {t.code for t in by_id(make_id(LI, 2, male=False)).care_tags.all()} == {"left_behind"}

    again = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count() == before


def test_reimport_leaves_columns_absent_from_the_sheet_untouched(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows()))
    rows = [[*HEADER[:6]], [*clean_rows()[1][:6]]]
    rows[1][0] = "曾庆保"  # a corrected name

    result = resident_import(actor=cast.a.dispatcher, file=xlsx(rows))

    assert (result.created, result.updated) == (0, 1)
    zeng = by_id(make_id(ZENG, 1, male=True))
    assert (zeng.name, zeng.name_initials) == ("曾庆保", "zqb")
    assert (zeng.address, zeng.lat) == ("百花路12号3栋201", 22.92)
    assert {t.code for t in zeng.care_tags.all()} == {"living_alone", "empty_nest"}


def test_city_admin_imports_into_two_communities(cast: Cast) -> None:
    rows = clean_rows()
    rows[2][5] = "xingye"
    result = resident_import(actor=cast.city, file=xlsx(rows))

    assert (result.errors, result.created) == ([], 3)
    assert by_id(make_id(LI, 2, male=False)).community == cast.b.center
    assert by_id(make_id(ZENG, 1, male=True)).community == cast.a.center
    entry = AuditLog.objects.get(action=AuditLog.Action.IMPORT)
    assert entry.target_id == cast.a.center.pk
    assert "baihua,xingye" in entry.detail


def test_code_must_name_a_community_center(cast: Cast) -> None:
    rows = clean_rows(community="cenxi")  # the city center's code
    result = resident_import(actor=cast.city, file=xlsx(rows))

    assert cells(result) == {(2, "社区编码"), (3, "社区编码"), (4, "社区编码")}


def test_dispatcher_of_b_cannot_import_into_a(cast: Cast) -> None:
    before = count()
    result = resident_import(actor=cast.b.dispatcher, file=xlsx(clean_rows("baihua")))

    assert cells(result) == {(2, "社区编码"), (3, "社区编码"), (4, "社区编码")}
    assert all("不属于您的社区" in e.message for e in result.errors)
    assert count() == before


def test_dispatcher_cannot_update_a_resident_of_another_community(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows("baihua")))
    rows = clean_rows("xingye")
    rows[1][0] = "改名"

    result = resident_import(actor=cast.b.dispatcher, file=xlsx(rows))

    assert cells(result) == {(2, "身份证号"), (3, "身份证号"), (4, "身份证号")}
    zeng = by_id(make_id(ZENG, 1, male=True))
    assert (zeng.name, zeng.community) == ("曾庆宝", cast.a.center)


def test_city_admin_may_move_a_resident_to_another_community(cast: Cast) -> None:
    resident_import(actor=cast.a.dispatcher, file=xlsx(clean_rows("baihua")))

    result = resident_import(actor=cast.city, file=xlsx(clean_rows("xingye")))

    assert (result.created, result.updated) == (0, 3)
    assert by_id(make_id(ZENG, 1, male=True)).community == cast.b.center


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.LEADER, Role.RESIDENT, Role.SCHOOL])
def test_other_roles_are_forbidden(cast: Cast, role: str) -> None:
    with pytest.raises(Forbidden):
        resident_import(actor=cast.a.users[role], file=xlsx(clean_rows()))
    assert count() == 2


@pytest.mark.parametrize(
    "content",
    [b"name,gender\n\xe6\x9b\xbe,M\n", b"", b"PK\x03\x04 not really a zip"],
    ids=["csv", "empty", "broken-zip"],
)
def test_unreadable_file_is_one_clear_error(cast: Cast, content: bytes) -> None:
    upload = SimpleUploadedFile("居民.xlsx", content, content_type=XLSX)
    result = resident_import(actor=cast.a.dispatcher, file=upload)

    assert len(result.errors) == 1
    assert result.errors[0].row == 0 and result.errors[0].column == ""
    assert ".xlsx" in result.errors[0].message


def test_blank_rows_and_notes_in_unnamed_columns_are_skipped(cast: Cast) -> None:
    rows = clean_rows()
    rows[2][3] = "bad"  # 李小朵, on Excel row 5 below the two rows put in before her
    sheet: list[list[Any] | None] = [
        *rows[:2],
        None,  # a blank row
        [None] * 10 + ["  ", "已核对"],  # a note beyond the header
        *rows[2:],
    ]
    result = resident_import(actor=cast.a.dispatcher, file=xlsx(sheet))

    assert cells(result) == {(5, "身份证号")}


def test_header_only_sheet_is_reported(cast: Cast) -> None:
    result = resident_import(actor=cast.a.dispatcher, file=xlsx([HEADER, None, None]))

    assert result.errors == [RowError(2, "", "表格中没有居民数据。")]


def test_path_and_file_object_are_accepted(cast: Cast, tmp_path: Any) -> None:
    path = tmp_path / "居民.xlsx"
    path.write_bytes(xlsx(clean_rows()).read())

    assert resident_import(actor=cast.a.dispatcher, file=path).created == 3
    with path.open("rb") as f:
        assert resident_import(actor=cast.a.dispatcher, file=f).unchanged == 3


def big_sheet(n: int, phone_prefix: str = "1380000") -> list[list[Any]]:
    rows: list[list[Any]] = [HEADER]
    for i in range(n):
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=i % 3000)
        rows.append(
            [f"居民{i}", "男", birth, make_id(birth, i // 3000 + 1, male=True),
             f"{phone_prefix}{i:04d}", "baihua", "", 22.9, 110.9, "独居"]
        )  # fmt: skip
    return rows


def test_queries_come_in_batches_never_per_row(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    # SQLite caps the parameters of one statement, so its bulk writes come in
    # batches of some 60 rows (about 30 queries here); one query per row would be 1200+.
    with django_assert_max_num_queries(40):
        result = resident_import(actor=cast.a.dispatcher, file=xlsx(big_sheet(1200)))
    assert result.created == 1200
    assert Resident.objects.filter(care_tags__code="living_alone").count() == 1200 + 2

    with django_assert_max_num_queries(40):
        result = resident_import(actor=cast.a.dispatcher, file=xlsx(big_sheet(1200, "1390000")))
    assert (result.created, result.updated) == (0, 1200)
    assert Resident.objects.filter(phone__startswith="1390000").count() == 1200


@pytest.mark.postgres
@RACE_MARKS[1]
def test_concurrent_imports_of_the_same_sheet_never_duplicate(cast: Cast) -> None:
    sheet = xlsx(big_sheet(300)).read()

    def run() -> ImportResult:
        upload = SimpleUploadedFile("居民.xlsx", sheet, content_type=XLSX)
        return resident_import(actor=cast.a.dispatcher, file=upload)

    results = race([run, run])

    assert Resident.objects.filter(community=cast.a.center).count() == 300 + 1
    # Whichever came second either found the rows committed or collided on
    # the insert and retried as an update: never a duplicate or a half import.
    outcomes = sorted((r.created, r.updated, r.unchanged, r.errors) for r in results)
    assert outcomes == [(0, 0, 300, []), (300, 0, 0, [])]


# The page -------------------------------------------------------------------


def post(user: User, upload: SimpleUploadedFile) -> Any:
    return client_for(user).post(reverse("people:import"), {"file": upload})


def test_page_shows_every_error_of_a_bad_sheet(cast: Cast) -> None:
    rows = clean_rows()
    rows[2][3] = "110105194912310021"
    rows[3][5] = "xingye"
    response = post(cast.a.dispatcher, xlsx(rows))

    assert response.status_code == 200
    errors = response.context["result"].errors
    assert cells(response.context["result"]) == {(3, "身份证号"), (4, "社区编码")}
    html = response.content.decode()
    assert "不属于您的社区" in html
    assert all(e.message in html for e in errors)
    assert count() == 2


def test_page_imports_a_clean_sheet_and_redirects(cast: Cast) -> None:
    response = post(cast.a.dispatcher, xlsx(clean_rows()))

    assert response.status_code == 302
    assert response.url == reverse("people:list")
    assert Resident.objects.filter(community=cast.a.center).count() == 1 + 3


def test_page_reports_an_unreadable_file_without_a_500(cast: Cast) -> None:
    upload = SimpleUploadedFile("居民.xlsx", b"just text", content_type=XLSX)
    response = post(cast.a.dispatcher, upload)

    assert response.status_code == 200
    assert ".xlsx" in response.context["result"].errors[0].message


def test_page_explains_the_columns(cast: Cast) -> None:
    response = client_for(cast.a.dispatcher).get(reverse("people:import"))

    assert response.status_code == 200
    html = response.content.decode()
    assert all(label in html for label in HEADER)


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_page_is_forbidden_to_other_roles(cast: Cast, role: str) -> None:
    response = client_for(cast.a.users[role]).get(reverse("people:import"))

    assert response.status_code == 403
