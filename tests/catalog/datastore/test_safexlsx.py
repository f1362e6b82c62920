"""The bounded XLSX reader: the same values as openpyxl for real workbooks, and a refusal
for decompression bombs, entity tricks and shapes no real workbook has."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile

import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from govdata.catalog.datastore import safexlsx, xlsx

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def crafted(sheet: bytes | str, *, prolog: str = DECLARATION, extra: dict | None = None
            ) -> bytes:
    """A minimal workbook whose first sheet's XML is ``prolog`` + ``sheet`` (a string is
    wrapped in <worksheet><sheetData>…)."""
    if isinstance(sheet, str):
        sheet = f'{prolog}<worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData></worksheet>'
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                       f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet '
                           'name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                                      f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                                      f'<Relationship Id="rId2" Type="{REL}/styles" '
                                      'Target="styles.xml"/></Relationships>',
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, content in parts.items():
            book.writestr(name, content)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def read(data: bytes) -> list[tuple]:
    """The rows, without trailing empty cells (as ``openpyxl_rows``)."""
    book = safexlsx.Workbook(io.BytesIO(data))
    try:
        rows = [list(row) for row in book.rows()]
    finally:
        book.close()
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    return [tuple(row) for row in rows]


def refused(data: bytes, words: str) -> None:
    with pytest.raises(safexlsx.UnreadableWorkbook) as caught:
        read(data)
    assert words in str(caught.value)


def openpyxl_rows(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    rows = []
    for values in sheet.iter_rows(values_only=True):
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        rows.append(tuple(values))
    return rows


def test_reads_what_openpyxl_reads():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "数量", "比例", "日期", "时间", "时刻", "是否", "空"])
    sheet.append(["解放碑", 3, 0.25, dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 8, 30),
                  dt.time(9, 15), True, None])
    sheet.append([CellRichText("富", TextBlock(InlineFont(b=True), "文本")), -7, 1e-9,
                  dt.datetime(1900, 1, 1), None, None, False, "=1+1"])  # no cached value
    sheet.append([])
    sheet.append([None, None, None, None, None, None, None, "末尾"])
    sheet["A7"] = "跳过一行"
    sheet["B3"].number_format = "[h]:mm"
    sheet["C2"].number_format = "0.00%"
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    assert read(data) == openpyxl_rows(data)
    assert read(data)[1][:4] == ("解放碑", 3, 0.25, dt.datetime(2024, 5, 1))
    book.epoch = CALENDAR_MAC_1904
    buffer = io.BytesIO()
    book.save(buffer)
    assert read(buffer.getvalue())[1][3] == dt.datetime(2024, 5, 1)


def test_reads_pandas_and_our_own_workbooks():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1.5, None], "c": pd.to_datetime(
        ["2024-01-02", "2024-03-04"])})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    assert read(buffer.getvalue()) == openpyxl_rows(buffer.getvalue())
    ours = b"".join(xlsx.workbook(["n", "d"], ["I", "D"], [[[1, dt.date(2024, 5, 1)]]]))
    assert read(ours) == [("n", "d"), (1, dt.datetime(2024, 5, 1))]


def test_a_huge_cell_is_refused_after_reading_little():
    cell = '<row r="1"><c t="inlineStr"><is><t>' + "A" * (3 << 20) + "</t></is></c></row>"
    data = crafted(cell)
    assert len(data) < 20_000
    refused(data, "单元格文本或标记")
    huge_tag = '<row r="1" ' + "x" * (3 << 20) + '="1"/>'
    refused(crafted(huge_tag), "单元格文本或标记")


def test_entities_and_other_declarations_are_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("机密")
    laughs = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(8))
              + ']>')
    for prolog, cell in (
            (DECLARATION + laughs, "&i;"),
            (DECLARATION + f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{secret}">]>',
             "&x;"),
            (DECLARATION + "<!-- a comment -->", "x"),
            (DECLARATION, "<![CDATA[x]]>"),
            (DECLARATION + "<?pi data?>", "x")):
        row = f'<row r="1"><c t="inlineStr"><is><t>{cell}</t></is></c></row>'
        refused(crafted(row, prolog=prolog), "DTD、注释、CDATA 或处理指令")


def test_parts_above_their_bound_are_refused_unread(monkeypatch):
    data = crafted('<row r="1"><c><v>1</v></c></row>' * 1000)
    monkeypatch.setattr(safexlsx, "MAX_SHEET_BYTES", 10_000)
    refused(data, "超过 10000 字节的上限")
    monkeypatch.setattr(safexlsx, "MAX_PART_BYTES", 100)
    refused(crafted("", extra={"xl/styles.xml": f'<styleSheet xmlns="{MAIN}">' + " " * 200
                               + "</styleSheet>"}), "超过 100 字节的上限")


def test_shapes_no_workbook_has_are_refused():
    deep = "<row r=\"1\">" + "<x>" * 100 + "</x>" * 100 + "</row>"
    refused(crafted(deep), "嵌套过深")
    wide = '<row r="1">' + "<x/>" * (safexlsx.MAX_UNIT_ELEMENTS + 1) + "</row>"
    refused(crafted(wide), "过多的子元素")
    many = "<x/>" * (safexlsx.MAX_OTHER_ELEMENTS + 1) + '<row r="1"><c><v>1</v></c></row>'
    refused(crafted(many), "行以外的元素过多")
    # a row of cells outside the spreadsheet namespace is no row: its cells count as others
    foreign = b'<sheetData><row r="1">' + b"<c><v>1</v></c>" * 120_000 + b"</row></sheetData>"
    refused(crafted(foreign), "行以外的元素过多")
    refused(crafted('<row r="1"><c r="XFE1"><v>1</v></c></row>'), "单元格位置")
    refused(crafted('<row r="1048577"><c><v>1</v></c></row>'), "行号")
    refused(crafted('<row r="2"/><row r="1"/>'), "行号")
    utf16 = (f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>').encode("utf-16")
    refused(crafted(utf16), "不是 UTF-8 编码")
    refused(b"PK\x03\x04 not really a zip", "不是 zip 文件")


def test_elements_are_dropped_once_read():
    """A hundred thousand unknown elements (a few kilobytes zipped) are dropped one by one;
    openpyxl and a plain ``iterparse`` keep every one of them (about 14 MB here)."""
    data = crafted("<x/>" * 100_000 + '<row r="1"><c><v>1</v></c></row>')
    assert len(data) < 10_000
    tracemalloc.start()
    try:
        assert read(data) == [(1,)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000
