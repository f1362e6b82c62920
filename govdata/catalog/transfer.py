"""Catalog export and import in the columns of the 2017 catalog guide (RULES.md §2).

One row per resource, Chinese headers (``COLUMNS``). Vocabulary cells hold the Chinese label
(``有条件共享``, ``部门信息资源``, ``已发布``); the import also takes the API's codes
(``conditional``). Lists (关联资源代码, 标签) are joined with ``;``. The 信息项 cell is a JSON
array, one object per data item::

    [{"name": "aqi", "title": "空气质量指数", "data_type": "I", "length": 4,
      "required": true, "is_basic": false, "sensitivity": "none", "share_type": null,
      "open_type": null}, ...]

where ``name``, ``title`` and ``data_type`` are needed and the rest default to null/false/
``none``. CSV is UTF-8 with a byte-order mark so Excel opens it (the import also reads
GB18030, what Excel saves by default on Chinese Windows); XLSX has one sheet; JSON is a list
of objects with the same headers, 信息项 as a real list.

Import: a row with an empty 信息资源代码 registers a new resource; a row whose code exists
updates that resource (unchanged rows write nothing) and moves it along 状态 (草稿 → 已发布 →
已停用); a row with an unknown but well-formed code registers the resource under that code
(the code sequence moves past it, so round-trips keep their codes). A steward imports into
their own department, an administrator into any (提供方代码: the department's code or its
统一社会信用代码; empty means the importer's own). Every row is checked before anything is
written; any error and nothing is imported: one RuleViolation lists every error as
``{"loc": ["row", <row>, <column>], "msg": …}`` where ``<row>`` is the row number a
spreadsheet shows (the header is row 1) and, in JSON, the position from 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govdata.catalog import access, rules, service, vocab
from govdata.catalog.datastore import safecsv, safexlsx, xlsx
from govdata.catalog.datastore.readers import cell_text
from govdata.catalog.models import Resource, Status
from govdata.platform import audit, strictjson
from govdata.platform.errors import Forbidden, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings, get_settings

BOM = "\ufeff"
FORMATS = ("csv", "xlsx", "json")
LIST_SEPARATOR = ";"
TRUE_WORDS = {"是", "true", "yes", "1", "y"}

# (header, field): the field names of the catalog service; ``None`` marks export-only
# columns the import ignores.
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("信息资源分类", "classification"),
    ("信息资源名称", "name"),
    ("信息资源代码", "code"),
    ("信息资源提供方", None),
    ("提供方代码", "department"),
    ("提供方统一社会信用代码", None),
    ("信息资源摘要", "summary"),
    ("信息资源格式", "format_category"),
    ("文件格式", "format"),
    ("信息项", "items"),
    ("共享类型", "share_type"),
    ("共享条件", "share_condition"),
    ("共享方式", "share_method"),
    ("不予共享依据", "legal_basis"),
    ("是否向社会开放", None),
    ("开放类型", "open_type"),
    ("开放条件", "open_condition"),
    ("更新周期", "update_cycle"),
    ("发布日期", "published_on"),
    ("关联资源代码", "related_codes"),
    ("资源类别", "resource_class"),
    ("分类路径", "category_path"),
    ("基础信息资源类型", "basic_kind"),
    ("主题", "theme"),
    ("标签", "tags"),
    ("状态", "status"),
    ("版本", None),
)
HEADERS = tuple(header for header, _ in COLUMNS)
HEADER_OF = {name: header for header, name in COLUMNS if name}
NEEDED = ("信息资源分类", "信息资源名称", "信息资源摘要", "信息资源格式", "文件格式", "信息项",
          "共享类型", "共享方式", "更新周期")
CHOICES = {"share_type": vocab.SHARE_LABEL, "open_type": vocab.OPEN_LABEL,
           "resource_class": vocab.CLASS_LABEL, "status": vocab.STATUS_LABEL}
ITEM_KEYS = ("name", "title", "data_type", "length", "required", "is_basic", "sensitivity",
             "share_type", "open_type")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


# --- export ----------------------------------------------------------------------------

def export_rows(session: Session, principal: Principal, *, department: str | None = None,
                status: str | None = None) -> Iterator[dict[str, Any]]:
    """The resources the principal may see, as rows keyed by the Chinese headers."""
    query = select(Resource).where(access.visible_clause(session, principal))
    if department is not None:
        query = query.join(Resource.department).where(Department.code == department)
    if status is not None:
        query = query.where(Resource.status == status)
    query = query.order_by(Resource.code).execution_options(yield_per=500)
    for resource in session.scalars(query):
        yield row_of(resource)


def row_of(resource: Resource) -> dict[str, Any]:
    items = [{key: value for key, value in service.item_dict(item).items()
              if key in ("name", "title", "data_type") or value not in (None, False, "none")}
             for item in resource.items]
    return {
        "信息资源分类": resource.classification,
        "信息资源名称": resource.name,
        "信息资源代码": resource.code,
        "信息资源提供方": resource.department.name,
        "提供方代码": resource.department.code,
        "提供方统一社会信用代码": resource.department.uscc,
        "信息资源摘要": resource.summary,
        "信息资源格式": resource.format_category,
        "文件格式": resource.format,
        "信息项": items,
        "共享类型": vocab.SHARE_LABEL[resource.share_type],
        "共享条件": resource.share_condition or "",
        "共享方式": resource.share_method,
        "不予共享依据": resource.legal_basis or "",
        "是否向社会开放": "否" if resource.open_type == "none" else "是",
        "开放类型": vocab.OPEN_LABEL[resource.open_type],
        "开放条件": resource.open_condition or "",
        "更新周期": resource.update_cycle,
        "发布日期": resource.published_on.isoformat() if resource.published_on else "",
        "关联资源代码": LIST_SEPARATOR.join(resource.related_codes or []),
        "资源类别": vocab.CLASS_LABEL[resource.resource_class],
        "分类路径": resource.category_path or "",
        "基础信息资源类型": resource.basic_kind or "",
        "主题": resource.theme or "",
        "标签": LIST_SEPARATOR.join(resource.tags or []),
        "状态": vocab.STATUS_LABEL[resource.status],
        "版本": resource.version,
    }


def _flat(row: Mapping[str, Any]) -> list[str]:
    return [json.dumps(row[h], ensure_ascii=False) if h == "信息项" else str(row[h])
            for h in HEADERS]


def csv_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """CSV, UTF-8 with a BOM, in chunks of about a hundred rows (for streaming). Every cell
    is text, neutralised for spreadsheets like every CSV the platform writes."""
    buffer = io.StringIO()
    writer = safecsv.CsvWriter(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.header(HEADERS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(_flat(row))
        if count % 100 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def to_xlsx(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """One sheet of text cells (the datastore's writer: text that begins with ``=`` stays
    text, where openpyxl would have written a live formula)."""
    cells = [[cell or None for cell in _flat(row)] for row in rows]
    return b"".join(xlsx.workbook(HEADERS, ["C"] * len(HEADERS), [cells],
                                  sheet_name="政务信息资源目录"))


def to_json(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return json.dumps(list(rows), ensure_ascii=False, indent=1).encode("utf-8")


def export_catalog(session: Session, principal: Principal, *, format: str = "csv",
                   department: str | None = None, status: str | None = None
                   ) -> Iterator[bytes]:
    """The catalog in one of ``FORMATS``, as chunks of bytes."""
    if format not in FORMATS:
        raise RuleViolation(f"导出格式只能是 {'、'.join(FORMATS)}", code="format_invalid",
                            errors=[{"loc": ["format"], "msg": f"可选: {', '.join(FORMATS)}"}])
    rows = export_rows(session, principal, department=department, status=status)
    if format == "csv":
        return csv_chunks(rows)
    return iter([to_xlsx(rows) if format == "xlsx" else to_json(rows)])


# --- import: reading -------------------------------------------------------------------

def read_rows(data: bytes, filename: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """``(row number, {header: cell})`` from a CSV, XLSX or JSON file."""
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _read_xlsx(data)
    if name.endswith(".json") or data.lstrip()[:1] == b"[":
        return _read_json(data)
    return _read_csv(data)


def _bad_file(message: str) -> RuleViolation:
    return RuleViolation(message, code="import_file_invalid",
                         errors=[{"loc": ["file"], "msg": message}])


def _read_csv(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            content = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _bad_file("CSV 文件须为 UTF-8 或 GB18030 编码") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [cell.strip() for cell in next(reader, [])]
        return [(number, dict(zip(header, cells, strict=False)))
                for number, cells in enumerate(reader, start=2)
                if any(c.strip() for c in cells)]
    except csv.Error as exc:  # e.g. a cell above the csv module's 128 KiB
        raise _bad_file(f"CSV 文件第 {reader.line_num} 行无法读取 (unreadable): {exc}") from None


def _read_xlsx(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The first sheet, read by the datastore's bounded reader (no decompression bomb or
    XML entity gets past it); cells as the text a CSV would hold."""
    try:
        book = safexlsx.Workbook(io.BytesIO(data))
        try:
            rows = [tuple("" if value is None else cell_text(value) for value in values)
                    for values in book.rows()]
        finally:
            book.close()
    except safexlsx.UnreadableWorkbook as exc:
        raise _bad_file(str(exc)) from None
    header = [cell.strip() for cell in rows[0]] if rows else []
    return [(number, dict(zip(header, cells, strict=False)))
            for number, cells in enumerate(rows[1:], start=2) if any(c.strip() for c in cells)]


def _read_json(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        records = strictjson.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, strictjson.JSONRefused) as exc:
        raise _bad_file(f"JSON 文件无法解析: {exc}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _bad_file("JSON 文件须为对象数组, 每个对象一条信息资源")
    return list(enumerate(records, start=1))


# --- import: checking ------------------------------------------------------------------

@dataclass
class PlannedRow:
    row: int
    department: Department
    fields: dict[str, Any]
    status: str | None
    existing: Resource | None = None
    code: str | None = None


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": len(self.created), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "published": len(self.published),
                "retired": len(self.retired)}


class _RowErrors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int, header: str, msg: str) -> None:
        self.items.append({"loc": ["row", row, header], "msg": msg})


def _cell(record: Mapping[str, Any], header: str) -> Any:
    value = record.get(header)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return dt.date.fromisoformat(text.split(" ")[0].split("T")[0])


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace("；", ";").split(LIST_SEPARATOR)
            if part.strip()]


def _items(value: Any) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except RecursionError:
        raise ValueError("信息项 JSON 嵌套过深") from None
    if not isinstance(parsed, list) or not all(isinstance(i, dict) for i in parsed):
        raise ValueError("信息项须为 JSON 对象数组")
    unknown = sorted({key for item in parsed for key in item} - set(ITEM_KEYS))
    if unknown:
        raise ValueError(f"信息项含未知属性: {', '.join(unknown)}")
    return [{**item, **{flag: _flag(item.get(flag)) for flag in ("required", "is_basic")}}
            for item in parsed]


def _flag(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    return str(value).strip().lower() in TRUE_WORDS


def _fields_of(record: Mapping[str, Any], number: int, errors: _RowErrors
               ) -> tuple[dict[str, Any], str | None, str | None, str | None]:
    """The service fields of one row, plus its code, department and status cells. A cell
    that cannot be read is reported here and named in ``fields["_unreadable"]``."""
    fields: dict[str, Any] = {"_unreadable": set()}
    for header, name in COLUMNS:
        if name is None or name in ("code", "department", "status"):
            continue
        value = _cell(record, header)
        try:
            if name in CHOICES and value is not None:
                parsed = vocab.parse_choice(str(value), CHOICES[name])
                if parsed is None:
                    raise ValueError(f"可选: {'、'.join(CHOICES[name].values())}")
                value = parsed
            elif name == "published_on" and value is not None:
                value = _date(value)
            elif name in ("related_codes", "tags"):
                value = _split(value)
            elif name == "items":
                value = _items(value) if value is not None else []
        except ValueError as exc:
            errors.add(number, header, f"{header} 无法识别 ({value!r}): {exc}")
            fields["_unreadable"].add(name)
            continue
        fields[name] = value
    if fields.get("resource_class") is None and isinstance(fields.get("classification"), str):
        digit = fields["classification"][:1]
        fields["resource_class"] = next(
            (str(c) for c, d in vocab.CLASS_DIGIT.items() if d == digit), None)
    if fields.get("open_type") is None:
        fields["open_type"] = "none"
    status = _cell(record, "状态")
    parsed_status = vocab.parse_choice(str(status), vocab.STATUS_LABEL) if status else None
    if status and parsed_status is None:
        errors.add(number, "状态", f"状态可选: {'、'.join(vocab.STATUS_LABEL.values())}")
    code = _cell(record, "信息资源代码")
    department = _cell(record, "提供方代码")
    return fields, (str(code) if code else None), (str(department) if department else None), \
        parsed_status


def _problem_header(problem: Mapping[str, Any], fields: Mapping[str, Any]) -> tuple[str, str]:
    loc = problem["loc"]
    if loc and loc[0] == "items" and len(loc) > 1:
        items = fields.get("items") or []
        index = loc[1]
        name = items[index].get("name") if index < len(items) else None
        return "信息项", f"第 {index + 1} 个信息项 {name or ''}: {problem['msg']}"
    if loc and loc[0] == "classification" and problem["code"] == "classification_invalid":
        return "信息资源分类", problem["msg"]
    return HEADER_OF.get(str(loc[0]), str(loc[0])) if loc else "信息资源名称", problem["msg"]


def plan_import(session: Session, principal: Principal, records: list[tuple[int, dict]],
                *, settings: Settings | None = None, progress: Progress | None = None
                ) -> list[PlannedRow]:
    """Check every row; raise one RuleViolation listing every error, or return the plan."""
    settings = settings or get_settings()
    errors = _RowErrors()
    if not records:
        raise _bad_file("文件中没有信息资源")
    missing = [h for h in NEEDED if h not in records[0][1]]
    if missing:
        raise RuleViolation("导入文件缺少必需的列", code="import_invalid",
                            errors=[{"loc": ["header", h], "msg": f"缺少列 {h}"} for h in missing])
    departments = _departments(session, principal, records)
    existing = _existing(session, records)
    planned: list[PlannedRow] = []
    names: dict[tuple[str, str], int] = {}
    seen_codes: dict[str, int] = {}
    for done, (number, record) in enumerate(records, start=1):
        fields, code, department_code, status = _fields_of(record, number, errors)
        current = existing.get(code) if code else None
        department_code = department_code or (current.department.code if current else None) \
            or principal.department
        department = _department_of(principal, department_code, departments, number, errors)
        unreadable = fields.pop("_unreadable")
        data, problems = service.check_fields(fields, settings)
        for problem in problems:
            if problem["loc"][0] not in unreadable:
                errors.add(number, *_problem_header(problem, data))
        if code is not None:
            if code in seen_codes:
                errors.add(number, "信息资源代码",
                           f"信息资源代码 {code} 与第 {seen_codes[code]} 行重复")
            seen_codes.setdefault(code, number)
            _check_code(principal, code, current, data, department, status, number, errors,
                        session)
        if department is not None and isinstance(data.get("name"), str):
            key = (department.id, data["name"])
            if key in names:
                errors.add(number, "信息资源名称", f"与第 {names[key]} 行同名")
            names.setdefault(key, number)
            if service.name_taken(session, department.id, data["name"],
                                  except_id=current.id if current else None):
                errors.add(number, "信息资源名称",
                           f"{department.name} 已有名为 {data['name']} 的信息资源")
        if department is not None:
            planned.append(PlannedRow(number, department, data, status, current, code))
        if progress:
            progress("检查", done, len(records))
    if errors.items:
        raise RuleViolation(f"导入文件有 {len(errors.items)} 处错误, 未导入任何信息资源",
                            code="import_invalid", errors=errors.items)
    return planned


def _departments(session: Session, principal: Principal, records: list[tuple[int, dict]]
                 ) -> dict[str, Department]:
    """The departments the file names (by code or 统一社会信用代码) and the importer's own."""
    wanted = {str(v).strip() for _, r in records if (v := r.get("提供方代码")) and str(v).strip()}
    if principal.department:
        wanted.add(principal.department)
    found = session.scalars(select(Department).where(
        or_(Department.code.in_(wanted), Department.uscc.in_(wanted)))).all()
    return {key: d for d in found for key in (d.code, d.uscc)}


def _existing(session: Session, records: list[tuple[int, dict]]) -> dict[str, Resource]:
    wanted = {str(v).strip() for _, r in records if (v := r.get("信息资源代码")) and str(v).strip()}
    if not wanted:
        return {}
    found = session.scalars(select(Resource).where(Resource.code.in_(wanted))).all()
    return {resource.code: resource for resource in found}


def _department_of(principal: Principal, code: str | None, departments: dict[str, Department],
                   number: int, errors: _RowErrors) -> Department | None:
    if code is None:
        errors.add(number, "提供方代码", "请填写提供方代码 (部门代码或统一社会信用代码)")
        return None
    department = departments.get(code)
    if department is None:
        errors.add(number, "提供方代码", f"部门 {code} 不存在")
        return None
    if not access.may_write_for(principal, department):
        errors.add(number, "提供方代码", f"无权向 {department.name} 导入信息资源")
        return None
    return department


def _check_code(principal: Principal, code: str, current: Resource | None,
                data: Mapping[str, Any], department: Department | None, status: str | None,
                number: int, errors: _RowErrors, session: Session) -> None:
    if current is None:
        problem = service.code_problem(session, code, data.get("classification"))
        if problem:
            errors.add(number, "信息资源代码", problem)
        return
    if not access.can_see(principal, current) or (
            department is not None and current.department_id != department.id):
        errors.add(number, "信息资源代码", f"信息资源代码 {code} 已属于其他部门")
        return
    if current.classification != data.get("classification"):
        errors.add(number, "信息资源分类", "已登记资源的分类代码不可修改")
    if current.status == Status.retired and (
            status not in (None, Status.retired) or _changes(current, data)):
        errors.add(number, "状态", f"信息资源 {code} 已停用, 不能再修改或发布")
    elif current.status == Status.published and status == Status.draft:
        errors.add(number, "状态", f"信息资源 {code} 已发布, 不能退回草稿")


def _changes(resource: Resource, data: Mapping[str, Any]) -> bool:
    return rules.normalize(service.editable_fields(resource)) != dict(data)


# --- import: applying ------------------------------------------------------------------

def require_importer(session: Session, principal: Principal, *,
                     source: str | None = None) -> None:
    """Stewards and administrators import; anyone else is refused (on the ledger)."""
    if not any(principal.has(role) for role in ("steward", "admin", "superuser")):
        raise audit.refused(session, principal, Forbidden(
            "只有数据管理员或管理员可以导入信息资源目录", code="not_resource_steward"),
            action="catalog.import", source=source)


def import_catalog(session: Session, principal: Principal, *, data: bytes,
                   filename: str | None = None, settings: Settings | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Import a catalog file all-or-nothing (the caller's transaction; see the module doc)."""
    require_importer(session, principal, source=filename)
    records = read_rows(data, filename)
    plan = plan_import(session, principal, records, settings=settings, progress=progress)
    report = ImportReport(rows=len(plan))
    for done, row in enumerate(plan, start=1):
        _apply_row(session, principal, row, report, settings)
        if progress:
            progress("导入", done, len(plan))
    audit.record(session, principal, action="catalog.import", resource=None,
                 source=filename, **report.counts())
    return report


def _apply_row(session: Session, principal: Principal, row: PlannedRow, report: ImportReport,
               settings: Settings | None) -> None:
    resource = row.existing
    if resource is None:
        resource = service.create_resource(session, principal, fields=row.fields,
                                           department=row.department.code, code=row.code,
                                           settings=settings)
        report.created.append(resource.code)
    elif resource.status != Status.retired:
        before = resource.version
        service.update_resource(session, principal, code=resource.code, changes=row.fields,
                                settings=settings)
        (report.updated if resource.version != before else report.unchanged).append(
            resource.code)
    else:
        report.unchanged.append(resource.code)
    if row.status == Status.published and resource.status == Status.draft:
        service.publish_resource(session, principal, code=resource.code, settings=settings)
        report.published.append(resource.code)
    if row.status == Status.retired and resource.status != Status.retired:
        service.retire_resource(session, principal, code=resource.code, reason="目录导入")
        report.retired.append(resource.code)

