"""Catalog export and import in the guide's columns: BOM, round trips, all-or-nothing with
row numbers, permissions, and the CLI."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from govdata.catalog import search, service, textindex, transfer
from govdata.catalog.models import Resource
from govdata.platform.errors import Forbidden, RuleViolation
from govdata.platform.principal import Principal
from tests.catalog import basic_fields, create, fields, item, steward

EXPORT = "/api/v1/catalog/export"
IMPORT = "/api/v1/catalog/import"


@pytest.fixture
def dept(make_department) -> str:
    return make_department(name="重庆市市场监督管理局")


@pytest.fixture
def me(dept) -> Principal:
    return steward(dept)


@pytest.fixture
def three(session, me):
    a = create(session, me, name="企业登记信息", classification="301005", publish=True,
               share_type="conditional", share_condition="仅限政务用途", tags=["企业", "登记"],
               related_codes=["101001/000001"],
               items=[item("uscc", "统一社会信用代码", length=18, required=True,
                           sensitivity="uscc"),
                      item("legal_rep", "法定代表人", sensitivity="name",
                           share_type="conditional")])
    b = service.create_resource(session, me, fields=basic_fields(name="法人库", open_type=
                                                                  "unconditional"))
    c = create(session, me, name="内部考核", share_type="none", legal_basis="《保密法》第九条")
    service.retire_resource(session, me, code=c.code)
    return [a, b, c]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def exported(session, principal, fmt="csv", **filters) -> bytes:
    return b"".join(transfer.export_catalog(session, principal, format=fmt, **filters))


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Resource))


def test_csv_export_has_bom_and_the_guides_columns(session, me, three, dept):
    rows = csv_rows(exported(session, me, department=dept))
    assert list(rows[0]) == list(transfer.HEADERS)
    by_name = {row["信息资源名称"]: row for row in rows}
    row = by_name["企业登记信息"]
    assert row["信息资源代码"] == three[0].code and row["信息资源分类"] == "301005"
    assert row["信息资源提供方"] == "重庆市市场监督管理局" and row["提供方代码"] == dept
    assert row["共享类型"] == "有条件共享" and row["共享条件"] == "仅限政务用途"
    assert row["开放类型"] == "不予开放" and row["是否向社会开放"] == "否"
    assert row["状态"] == "已发布" and row["资源类别"] == "部门信息资源"
    assert row["关联资源代码"] == "101001/000001" and row["标签"] == "企业;登记"
    assert json.loads(row["信息项"]) == [
        {"name": "uscc", "title": "统一社会信用代码", "data_type": "C", "length": 18,
         "required": True, "sensitivity": "uscc"},
        {"name": "legal_rep", "title": "法定代表人", "data_type": "C", "length": 50,
         "sensitivity": "name", "share_type": "conditional"}]
    assert by_name["内部考核"]["不予共享依据"] == "《保密法》第九条"
    assert by_name["内部考核"]["状态"] == "已停用"


def test_xlsx_and_json_exports(session, me, three, dept):
    frame = pd.read_excel(io.BytesIO(exported(session, me, "xlsx", department=dept)),
                          dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(transfer.HEADERS)
    assert sorted(frame["信息资源名称"]) == sorted(r.name for r in three)
    assert (frame["信息资源分类"] == "101001").sum() == 1  # codes stay text, no lost zeros
    records = json.loads(exported(session, me, "json", department=dept))
    assert {r["信息资源代码"] for r in records} == {r.code for r in three}
    assert isinstance(records[0]["信息项"], list)


def test_reimporting_an_export_changes_nothing(session, me, three, dept):
    data = exported(session, me, department=dept)
    report = transfer.import_catalog(session, me, data=data, filename="catalog.csv")
    assert report.rows == 3 and sorted(report.unchanged) == sorted(r.code for r in three)
    assert report.created == report.updated == []
    assert [r.version for r in three] == [2, 1, 2]


def test_round_trip_into_an_empty_catalog_keeps_codes_and_fields(session, me, three, dept):
    before = {r.code: service.snapshot(r) for r in three}
    data = exported(session, me, department=dept)
    for resource in three:
        textindex.unindex(session, resource.id)
        session.delete(resource)
    session.flush()
    session.expunge_all()
    report = transfer.import_catalog(session, me, data=data, filename="catalog.csv")
    assert sorted(report.created) == sorted(before)
    assert report.published == [three[0].code] and report.retired == [three[2].code]
    for code, snapshot in before.items():
        again = service.snapshot(service.get_resource(session, me, code))
        for key in ("version",):
            snapshot.pop(key), again.pop(key)
        assert again == snapshot
    assert search.search_resources(session, me, q="法人库").total == 1


def test_import_edits_existing_rows(session, me, three, dept):
    rows = csv_rows(exported(session, me, department=dept))
    rows[0]["信息资源摘要"] = "导入时修改的摘要"
    report = transfer.import_catalog(session, me, data=to_csv(rows), filename="c.csv")
    assert len(report.updated) == 1 and len(report.unchanged) == 2
    changed = service.get_resource(session, me, rows[0]["信息资源代码"])
    assert changed.summary == "导入时修改的摘要"


def to_csv(rows: list[dict], headers=transfer.HEADERS, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(headers), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def new_row(name: str, **cells) -> dict[str, str]:
    row = {"信息资源分类": "301006", "信息资源名称": name, "信息资源摘要": "导入的资源",
           "信息资源格式": "电子表格", "文件格式": "csv", "共享类型": "无条件共享",
           "共享方式": "接口", "开放类型": "不予开放", "更新周期": "每月",
           "信息项": json.dumps([{"name": "a", "title": "甲", "data_type": "C"}],
                             ensure_ascii=False)}
    row.update(cells)
    return row


def test_import_is_all_or_nothing_with_row_numbers(session, me):
    rows = [new_row("第一行资源"),
            new_row("第二行资源", 共享类型="不予共享"),
            new_row("第三行资源", 更新周期="每两天", 信息项="[{oops"),
            new_row("第一行资源"),
            new_row("第五行资源", 信息资源分类="101001", 资源类别="部门信息资源"),
            new_row("第六行资源", 共享类型="有条件共享", 信息项=json.dumps(
                [{"name": "_bad", "title": "坏", "data_type": "C"}]))]
    before = count(session)
    with pytest.raises(RuleViolation) as caught:
        transfer.import_catalog(session, me, data=to_csv(rows), filename="c.csv")
    assert caught.value.code == "import_invalid"
    locs = [tuple(e["loc"]) for e in caught.value.errors]
    assert ("row", 3, "不予共享依据") in locs
    assert ("row", 4, "更新周期") in locs and locs.count(("row", 4, "信息项")) == 1
    assert ("row", 5, "信息资源名称") in locs
    assert ("row", 6, "信息资源分类") in locs
    assert ("row", 7, "共享条件") in locs and ("row", 7, "信息项") in locs
    assert not any(loc[1] == 2 for loc in locs)
    assert any("第 1 个信息项 _bad" in e["msg"] for e in caught.value.errors)
    assert count(session) == before


def test_import_checks_departments(session, me, make_department):
    other = make_department()
    with pytest.raises(RuleViolation) as caught:
        transfer.import_catalog(session, me, data=to_csv([
            new_row("别人的资源", 提供方代码=other), new_row("不存在的部门", 提供方代码="nope")]))
    assert [e["loc"] for e in caught.value.errors] == [["row", 2, "提供方代码"],
                                                       ["row", 3, "提供方代码"]]
    requester = Principal(username="r", department=me.department,
                          roles=frozenset({"requester"}))
    with pytest.raises(Forbidden):
        transfer.import_catalog(session, requester, data=to_csv([new_row("x")]))
    admin = Principal.system("admin")
    report = transfer.import_catalog(session, admin, data=to_csv([
        new_row("管理员导入", 提供方代码=other)]))
    assert service.get_resource(session, admin, report.created[0]).department.code == other


def test_import_reads_gb18030_xlsx_and_json(session, me):
    report = transfer.import_catalog(session, me, data=to_csv(
        [new_row("国标编码资源", 状态="已发布")], encoding="gb18030"), filename="c.csv")
    assert report.published == report.created
    frame = pd.DataFrame([new_row("表格资源", 发布日期="2024-03-01", 标签="甲;乙")])
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    report = transfer.import_catalog(session, me, data=buffer.getvalue(), filename="c.xlsx")
    made = service.get_resource(session, me, report.created[0])
    assert str(made.published_on) == "2024-03-01" and made.tags == ["甲", "乙"]
    row = new_row("JSON资源")
    row["信息项"] = json.loads(row["信息项"])
    report = transfer.import_catalog(session, me, data=json.dumps([row]).encode(),
                                     filename="c.json")
    assert len(report.created) == 1


def test_import_refuses_a_file_without_the_needed_columns(session, me):
    with pytest.raises(RuleViolation) as caught:
        transfer.import_catalog(session, me, data=to_csv([{"信息资源名称": "x"}],
                                                         headers=["信息资源名称"]))
    assert ["header", "共享类型"] in [e["loc"] for e in caught.value.errors]


def test_http_export_and_import(client, auth, make_user, dept, session):
    owner = make_user("steward", department=dept)
    response = client.post(IMPORT, headers=auth(owner), files={
        "file": ("catalog.csv", to_csv([new_row("接口导入一"), new_row("接口导入二")]),
                 "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 2 and len(response.json()["created"]) == 2
    bad = client.post(IMPORT, headers=auth(owner), files={
        "file": ("catalog.csv", to_csv([new_row("好的"), new_row("坏的", 共享类型="大概")]),
                 "text/csv")})
    assert bad.status_code == 422
    assert bad.json()["code"] == "import_invalid"
    assert bad.json()["errors"][0]["loc"] == ["row", 3, "共享类型"]
    assert client.get("/api/v1/catalog/resources", headers=auth(owner),
                      params={"q": "好的"}).json()["total"] == 0

    export = client.get(EXPORT, headers=auth(owner), params={"department": dept})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert export.content.startswith(b"\xef\xbb\xbf")
    assert {r["信息资源名称"] for r in csv_rows(export.content)} == {"接口导入一", "接口导入二"}
    xlsx = client.get(EXPORT, headers=auth(owner), params={"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    assert client.get(EXPORT, headers=auth(owner), params={"format": "pdf"}).status_code == 422
    requester = make_user("requester", department=dept)
    denied = client.post(IMPORT, headers=auth(requester), files={
        "file": ("c.csv", to_csv([new_row("x")]), "text/csv")})
    assert denied.status_code == 403


def test_cli_export_and_import(tmp_path, monkeypatch, capsys):
    from govdata.main import command_line
    from govdata.platform import cli, migrate
    from govdata.platform.settings import get_settings
    from tests.conftest import synthetic_uscc

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GOVDATA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        migrate.upgrade(url)
        app = command_line()
        assert cli.run(app, ["department", "add", "cq-scjgj", "--name", "重庆市市场监督管理局",
                             "--uscc", synthetic_uscc(), "--division", "500000"]) == 0
        source = tmp_path / "in.csv"
        source.write_bytes(to_csv([new_row("命令行导入", 提供方代码="cq-scjgj", 状态="已发布")]))
        assert cli.run(app, ["catalog", "import", str(source)]) == 0
        assert "1 created" in capsys.readouterr().out
        bad = tmp_path / "bad.csv"
        bad.write_bytes(to_csv([new_row("坏行", 提供方代码="cq-scjgj", 更新周期="偶尔")]))
        assert cli.run(app, ["catalog", "import", str(bad)]) == 1
        assert "row/2/更新周期" in capsys.readouterr().err
        out = tmp_path / "out.csv"
        assert cli.run(app, ["catalog", "export", "--format", "csv", "--out", str(out)]) == 0
        rows = csv_rows(out.read_bytes())
        assert [r["信息资源名称"] for r in rows] == ["命令行导入"]
        assert rows[0]["信息资源代码"] == "301006/000001" and rows[0]["状态"] == "已发布"
        assert cli.run(app, ["catalog", "reindex"]) == 0
        assert "reindexed 1 resources" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_resource_rules_are_the_same_for_every_door(session, me):
    """The import reports the same rule as the service (and so the HTTP API)."""
    with pytest.raises(RuleViolation) as direct:
        service.create_resource(session, me, fields=fields(share_type="none"))
    with pytest.raises(RuleViolation) as imported:
        transfer.import_catalog(session, me, data=to_csv([new_row("x", 共享类型="不予共享")]))
    assert direct.value.errors[0]["msg"] == imported.value.errors[0]["msg"]


def test_exports_neutralise_formulas(session, me, dept):
    create(session, me, name="=HYPERLINK(\"http://evil\")", summary="-2+3\r伪造的行",
           tags=["@tag"])
    row = csv_rows(exported(session, me, department=dept))[0]
    assert row["信息资源名称"] == "'=HYPERLINK(\"http://evil\")"
    assert row["信息资源摘要"] == "'-2+3\r伪造的行" and row["标签"] == "'@tag"
    assert row["版本"] == "1"
    book = openpyxl.load_workbook(io.BytesIO(exported(session, me, "xlsx", department=dept)))
    header, cells = list(book.active.iter_rows(max_row=2))
    named = {h.value: c for h, c in zip(header, cells, strict=True)}
    assert named["信息资源名称"].value == "=HYPERLINK(\"http://evil\")"
    assert named["信息资源名称"].data_type == "s"  # text, not a live formula


def test_import_refuses_deeply_nested_json(session, me):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RuleViolation) as caught:
        transfer.import_catalog(session, me, data=deep.encode(), filename="c.json")
    assert caught.value.code == "import_file_invalid"
    with pytest.raises(RuleViolation) as caught:
        transfer.import_catalog(session, me, data=to_csv([new_row("深", 信息项=deep[99_000:
                                                                                101_000])]),
                                filename="c.csv")
    assert caught.value.errors[0]["loc"] == ["row", 2, "信息项"]
    with pytest.raises(RuleViolation) as caught:  # a cell above the csv module's limit
        transfer.import_catalog(session, me, data=to_csv([new_row("长", 信息项=deep)]),
                                filename="c.csv")
    assert caught.value.code == "import_file_invalid"


def test_http_import_is_bounded(client, auth, make_user, dept, settings):
    """The import honours the upload limits (it read any size into memory) and reads
    XLSX with the bounded reader (a bomb is refused, not inflated)."""
    from tests.catalog.datastore.test_safexlsx import crafted

    owner = make_user("steward", department=dept)
    body = to_csv([new_row(f"资源{n}") for n in range(20)])
    settings.catalog_import_max_bytes = len(body) - 1
    response = client.post(IMPORT, headers=auth(owner),
                           files={"file": ("c.csv", body, "text/csv")})
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    settings.catalog_import_max_bytes, settings.upload_max_bytes = 1 << 20, len(body) - 1
    response = client.post(IMPORT, headers=auth(owner),
                           files={"file": ("c.csv", body, "text/csv")})
    assert response.status_code == 413
    settings.upload_max_bytes = 1 << 20
    bomb = crafted('<row r="1"><c t="inlineStr"><is><t>' + "A" * (3 << 20)
                   + "</t></is></c></row>")
    response = client.post(IMPORT, headers=auth(owner),
                           files={"file": ("c.xlsx", bomb, "application/octet-stream")})
    assert response.status_code == 422 and response.json()["code"] == "import_file_invalid"
    assert client.post(IMPORT, headers=auth(owner), files={
        "file": ("c.csv", body, "text/csv")}).json()["rows"] == 20
