"""Row checks against the data items, one column of a batch at a time.

``convert`` is the rule: it turns one cell (a string, or ``None``) into the column's value
or raises ``Invalid`` with the reason. ``check_column`` applies it to a whole column of a
batch: first a vectorised path (pyarrow.compute and numpy over the raw bytes) that accepts a
column only when every value is plainly valid, and otherwise ``convert`` cell by cell, which
is what names each bad row. The vectorised path never accepts a value ``convert`` refuses,
nor turns one into something else (tests check both paths on the same values).

Values per data type (RULES.md §2, §5):

- ``C`` text of at most ``length`` characters (no NUL); ``uscc`` items: 统一社会信用代码 with
  its check character; ``id_number`` items: 公民身份号码 with a real birth date and its check
  character (a lower-case ``x`` is stored as ``X``).
- ``I`` integer (64-bit); ``N`` decimal (exponent of at most two digits); ``Y`` amount with at
  most two decimals; ``F`` finite floating point. For ``I``/``N``/``Y`` a ``length`` is the
  largest number of digits.
- ``D`` a real date ``YYYY-MM-DD``; ``T`` ISO 8601 date and time, with or without an offset
  (without one it is China Standard Time, UTC+8); ``L`` true/false/是/否/1/0.

Empty cells are null (``required`` items refuse them); around non-text values blanks are
ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from govdata.catalog.datastore.columns import ColumnSpec
from govdata.platform.identifiers import (
    ID_CHECK,
    ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    id_number_check_character,
    uscc_check_character,
)

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NUMBER_TEXT = 100
TRUE_WORDS = ("true", "1", "是")
FALSE_WORDS = ("false", "0", "否")
MAX_SHOWN_VALUE = 200

ARROW_TYPES: dict[str, pa.DataType] = {
    "C": pa.string(), "I": pa.int64(), "N": pa.string(), "Y": pa.string(),
    "F": pa.float64(), "D": pa.date32(), "T": pa.timestamp("us", tz="UTC"), "L": pa.bool_(),
}

# Python patterns are ASCII-only, like RE2's \d in the vectorised path.
_INT = r"[+-]?[0-9]+"
_DEC = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
INT_RE = f"^{_INT}$"
DECIMAL_RE = rf"^{_DEC}(?:[eE][+-]?[0-9]{{1,2}})?$"
FLOAT_RE = rf"^{_DEC}(?:[eE][+-]?[0-9]{{1,3}})?$"
CURRENCY_RE = r"^[+-]?[0-9]{1,18}(?:\.[0-9]{1,2})?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_RE = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
               r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$")
NAIVE_DATETIME_RE = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                     r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?$")
USCC_RE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
ID_RE = r"^[0-9]{17}[0-9X]$"
_py = {pattern: re.compile(pattern, re.ASCII) for pattern in
       (INT_RE, DECIMAL_RE, FLOAT_RE, CURRENCY_RE, DATE_RE, DATETIME_RE, USCC_RE, ID_RE)}


class Invalid(ValueError):
    """A cell that breaks its data item's rule; the message is the reason."""


@dataclass(frozen=True)
class CellError:
    """One problem of an upload: a bad cell (row and column), or a bad column or file."""

    row: int | None
    column: str | None
    value: str | None
    reason: str

    def as_problem(self) -> dict[str, Any]:
        loc: list[Any] = ["row", self.row] if self.row is not None else ["file"]
        if self.column is not None:
            loc.append(self.column)
        where = f"第 {self.row} 行" if self.row is not None else "文件"
        if self.column is not None:
            where += f" {self.column}"
        shown = "" if self.value is None else f" {self.value!r}"
        return {"loc": loc, "msg": f"{where}{shown}: {self.reason}", "row": self.row,
                "column": self.column, "value": self.value, "reason": self.reason}


def shown(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[:MAX_SHOWN_VALUE] + "…"


# --- the rule, one cell at a time ------------------------------------------------------

def convert(spec: ColumnSpec, raw: str | None) -> Any:
    """The stored value of one cell, or ``Invalid``. ``None`` and ``""`` are null."""
    value = raw if raw is None or spec.data_type == "C" else raw.strip()
    if value is None or value == "":
        if spec.required:
            raise Invalid("必填项为空 (required value missing)")
        return None
    converter = _CONVERTERS[spec.data_type]
    return converter(spec, value)


def _text(spec: ColumnSpec, value: str) -> str:
    if "\x00" in value:
        raise Invalid("含有空字符 NUL (contains a NUL character)")
    if spec.sensitivity == "uscc":
        return _uscc(value.strip())
    if spec.sensitivity == "id_number":
        return _id_number(value.strip().upper())
    if spec.length is not None and len(value) > spec.length:
        raise Invalid(f"超过 {spec.length} 个字符 ({len(value)} characters, at most "
                      f"{spec.length})")
    return value


def _uscc(code: str) -> str:
    if not _py[USCC_RE].match(code):
        raise Invalid("统一社会信用代码应为 18 位, 且只含数字和除 I、O、S、V、Z 以外的大写字母 "
                      "(not an 18-character unified social credit code)")
    if uscc_check_character(code[:17]) != code[17]:
        raise Invalid("统一社会信用代码校验位不正确 (wrong check character)")
    return code


def _id_number(number: str) -> str:
    if not _py[ID_RE].match(number):
        raise Invalid("公民身份号码应为 17 位数字加 1 位校验码 (not an 18-character ID number)")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise Invalid("公民身份号码中的出生日期不存在 (impossible birth date)") from None
    if born.year < 1800 or born > dt.date.today():
        raise Invalid("公民身份号码中的出生日期不可能 (impossible birth date)")
    if id_number_check_character(number[:17]) != number[17]:
        raise Invalid("公民身份号码校验位不正确 (wrong check character)")
    return number


def _digits(spec: ColumnSpec, value: str) -> None:
    if spec.length is None:
        return
    mantissa = re.split("[eE]", value, maxsplit=1)[0]
    count = sum(ch.isdigit() for ch in mantissa)
    if count > spec.length:
        raise Invalid(f"超过 {spec.length} 位数字 ({count} digits, at most {spec.length})")


def _integer(spec: ColumnSpec, value: str) -> int:
    if not _py[INT_RE].match(value):
        raise Invalid("不是整数 (not an integer)")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise Invalid("整数超出 64 位范围 (integer out of range)")
    _digits(spec, value)
    return number


def _decimal(spec: ColumnSpec, value: str) -> str:
    if len(value) > MAX_NUMBER_TEXT or not _py[DECIMAL_RE].match(value):
        raise Invalid("不是数值 (not a number)")
    _digits(spec, value)
    return value


def _currency(spec: ColumnSpec, value: str) -> str:
    if not _py[CURRENCY_RE].match(value):
        raise Invalid("不是金额: 至多 18 位整数、2 位小数 (not an amount with at most 2 decimals)")
    _digits(spec, value)
    return value


def _float(spec: ColumnSpec, value: str) -> float:
    if len(value) > MAX_NUMBER_TEXT or not _py[FLOAT_RE].match(value):
        raise Invalid("不是浮点数 (not a floating-point number)")
    number = float(value)
    if number in (float("inf"), float("-inf")):
        raise Invalid("浮点数超出范围 (floating-point number out of range)")
    return number


def _date(spec: ColumnSpec, value: str) -> dt.date:
    if not _py[DATE_RE].match(value):
        raise Invalid("不是 YYYY-MM-DD 格式的日期 (not a date YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid("日期不存在 (no such date)") from None


def _datetime(spec: ColumnSpec, value: str) -> dt.datetime:
    if not _py[DATETIME_RE].match(value):
        raise Invalid("不是 ISO 8601 日期时间, 如 2024-05-01T08:30:00+08:00 "
                      "(not an ISO 8601 date and time)")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("日期时间不存在 (no such date and time)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    try:
        moment.astimezone(dt.UTC)  # must exist in UTC too (what PostgreSQL stores)
        return moment.astimezone(CHINA)
    except OverflowError:
        raise Invalid("日期时间超出范围 (date and time out of range)") from None


def _boolean(spec: ColumnSpec, value: str) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid("不是逻辑值 true/false/是/否/1/0 (not a boolean)")


_CONVERTERS = {"C": _text, "I": _integer, "N": _decimal, "Y": _currency, "F": _float,
               "D": _date, "T": _datetime, "L": _boolean}


def to_arrow(spec: ColumnSpec, values: Sequence[Any]) -> pa.Array:
    return pa.array(values, type=ARROW_TYPES[spec.data_type])


# --- whole columns ---------------------------------------------------------------------

class Rows:
    """The file's row numbers of a batch's rows (1 = the first row after the header)."""

    def __init__(self, first: int, count: int, numbers: np.ndarray | None = None) -> None:
        self.first, self.count, self.numbers = first, count, numbers

    def __getitem__(self, index: int) -> int:
        if self.numbers is not None:
            return int(self.numbers[index])
        return self.first + index


@dataclass
class ColumnResult:
    array: pa.Array
    errors: list[CellError]
    error_count: int
    bad_rows: np.ndarray | None = None


def check_column(spec: ColumnSpec, column: pa.Array | None, rows: Rows, *,
                 budget: int) -> ColumnResult:
    """Check and convert one column of a batch. ``budget`` is how many error details are
    still wanted; all errors are counted."""
    if column is None:
        column = pa.nulls(rows.count, pa.string())
    elif not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    fast = _fast(spec, column)
    if fast is not None:
        return ColumnResult(fast, [], 0)
    return _slow(spec, column, rows, budget)


def _slow(spec: ColumnSpec, column: pa.Array, rows: Rows, budget: int) -> ColumnResult:
    values: list[Any] = []
    errors: list[CellError] = []
    bad: list[int] = []
    for index, raw in enumerate(column.to_pylist()):
        try:
            values.append(convert(spec, raw))
        except Invalid as exc:
            values.append(None)
            bad.append(index)
            if len(errors) < budget:
                errors.append(CellError(rows[index], spec.name, shown(raw), str(exc)))
    return ColumnResult(to_arrow(spec, values), errors, len(bad), np.asarray(bad, np.int64))


def _fast(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    """The column converted when every value is plainly valid, else ``None``."""
    lengths = pc.binary_length(column)
    empty = pc.equal(lengths, 0)
    if pc.any(empty).as_py():
        column = pc.if_else(empty, pa.scalar(None, pa.string()), column)
    if spec.required and column.null_count:
        return None
    if column.null_count == len(column):
        return pa.nulls(len(column), ARROW_TYPES[spec.data_type])
    try:
        return _FAST[spec.data_type](spec, column)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        return None


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask, skip_nulls=True).as_py() is not False)


def _matches(column: pa.Array, pattern: str) -> bool:
    return _all(pc.match_substring_regex(column, pattern))


def _fast_text(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    if pc.any(pc.match_substring(column, "\x00")).as_py():
        return None
    if spec.sensitivity == "uscc":
        return column if _uscc_ok(column) else None
    if spec.sensitivity == "id_number":
        return column if _id_numbers_ok(column) else None
    if spec.length is not None and (pc.max(pc.utf8_length(column)).as_py() or 0) > spec.length:
        return None
    return column


def _digit_counts(column: pa.Array) -> np.ndarray:
    """Digits per value of a string array, over its raw bytes."""
    offsets = np.frombuffer(column.buffers()[1], np.int32, count=len(column) + 1,
                            offset=column.offset * 4)
    data_buffer = column.buffers()[2]
    if data_buffer is None or offsets[-1] == offsets[0]:
        return np.zeros(len(column), np.int64)
    data = np.frombuffer(data_buffer, np.uint8, count=int(offsets[-1]))
    running = np.concatenate(([0], np.cumsum((data >= 48) & (data <= 57), dtype=np.int64)))
    return running[offsets[1:]] - running[offsets[:-1]]


def _digits_ok(spec: ColumnSpec, column: pa.Array) -> bool:
    if spec.length is None:
        return True
    if pc.any(pc.match_substring(column, "e", ignore_case=True)).as_py():
        return False
    return int(_digit_counts(column).max(initial=0)) <= spec.length


def _fast_integer(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    numbers = pc.cast(column, pa.int64())
    if spec.length is not None and spec.length < 19:
        limit = 10 ** spec.length
        low, high = pc.min_max(numbers).values()
        if low.as_py() <= -limit or high.as_py() >= limit:
            return None
    return numbers


def _fast_decimal(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    if (pc.max(pc.binary_length(column)).as_py() or 0) > MAX_NUMBER_TEXT:
        return None
    if not _matches(column, DECIMAL_RE) or not _digits_ok(spec, column):
        return None
    return column


def _fast_currency(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    if not _matches(column, CURRENCY_RE) or not _digits_ok(spec, column):
        return None
    return column


def _fast_float(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    if (pc.max(pc.binary_length(column)).as_py() or 0) > MAX_NUMBER_TEXT:
        return None
    if not _matches(column, FLOAT_RE):
        return None
    numbers = pc.cast(column, pa.float64())
    if not _all(pc.is_finite(numbers)):
        return None
    return numbers


def _fast_date(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    if not _matches(column, DATE_RE):
        return None
    dates = pc.cast(column, pa.date32())
    if pc.min(dates).as_py() is None:
        return None
    earliest = pc.min(pc.cast(dates, pa.int32())).as_py()
    if earliest < (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days:
        return None
    return dates


_CHINA_OFFSET_US = 8 * 3600 * 10**6
_EARLIEST_NAIVE_US = int((dt.datetime(1, 1, 1, 8) - dt.datetime(1970, 1, 1))
                         / dt.timedelta(microseconds=1))


def _fast_datetime(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    """Datetimes without an offset (China Standard Time); others go cell by cell."""
    if not _matches(column, NAIVE_DATETIME_RE):
        return None
    micros = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
    if pc.min(micros).as_py() < _EARLIEST_NAIVE_US:
        return None
    return pc.cast(pc.subtract(micros, _CHINA_OFFSET_US), pa.timestamp("us", tz="UTC"))


def _fast_boolean(spec: ColumnSpec, column: pa.Array) -> pa.Array | None:
    lowered = pc.utf8_lower(column)
    true = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
    false = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
    if not _all(pc.or_(pc.or_(true, false), pc.is_null(column))):
        return None
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.bool_()), true)


_FAST = {"C": _fast_text, "I": _fast_integer, "N": _fast_decimal, "Y": _fast_currency,
         "F": _fast_float, "D": _fast_date, "T": _fast_datetime, "L": _fast_boolean}


# --- identifiers over a byte matrix ----------------------------------------------------

_USCC_VALUE = np.full(256, -1, np.int64)
for _value, _char in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_char)] = _value
_USCC_WEIGHTS = np.array(USCC_WEIGHTS, np.int64)
_ID_WEIGHTS = np.array(ID_WEIGHTS, np.int64)
_ID_CHECK = np.frombuffer(ID_CHECK.encode(), np.uint8)


def _matrix(column: pa.Array, width: int) -> np.ndarray:
    """The values of an ASCII string column whose values all have ``width`` bytes, as an
    ``n × width`` byte matrix (nulls dropped)."""
    values = pc.drop_null(column) if column.null_count else column
    count = len(values)
    offsets = np.frombuffer(values.buffers()[1], np.int32, count=count + 1,
                            offset=values.offset * 4)
    start = int(offsets[0])
    if int(offsets[-1]) - start != count * width:
        raise pa.ArrowInvalid("values are not all of the same width")
    data = np.frombuffer(values.buffers()[2], np.uint8, count=count * width, offset=start)
    return data.reshape(count, width)


def _uscc_ok(column: pa.Array) -> bool:
    if not _matches(column, USCC_RE):
        return False
    values = _USCC_VALUE[_matrix(column, 18)]
    check = (31 - (values[:, :17] @ _USCC_WEIGHTS) % 31) % 31
    return bool(np.all(check == values[:, 17]))


def _id_numbers_ok(column: pa.Array) -> bool:
    if not _matches(column, ID_RE):
        return False
    matrix = _matrix(column, 18)
    digits = matrix[:, :17].astype(np.int64) - 48
    if not np.all(_ID_CHECK[(digits @ _ID_WEIGHTS) % 11] == matrix[:, 17]):
        return False
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    if np.any((month < 1) | (month > 12) | (day < 1) | (day > 31) | (year < 1800)):
        return False
    first_of_month = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    born = first_of_month.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    if np.any(born.astype("datetime64[M]") != first_of_month):
        return False
    return bool(np.all(born <= np.datetime64(dt.date.today(), "D")))


# --- SQLite values ---------------------------------------------------------------------

def sqlite_datetime(moment: dt.datetime) -> str:
    """How SQLite keeps a datetime: China Standard Time, ISO text without the offset."""
    return moment.astimezone(CHINA).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_values(spec: ColumnSpec, array: pa.Array) -> list[Any]:
    """A converted column as Python values for SQLite (see ``tables.sql_type``)."""
    kind = spec.data_type
    if kind in ("N", "Y"):
        return pc.cast(array, pa.float64()).to_pylist()
    if kind == "D":
        return pc.cast(array, pa.string()).to_pylist()
    if kind == "T":
        return [None if moment is None else sqlite_datetime(moment)
                for moment in array.to_pylist()]
    return array.to_pylist()


def filter_value(spec: ColumnSpec, raw: Any) -> Any:
    """A filter value given for a column, converted like a cell but without the length and
    identifier checks (``Invalid`` if it cannot be a value of the column)."""
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    elif isinstance(raw, int | float | Decimal):
        raw = str(raw)
    elif not isinstance(raw, str):
        raise Invalid("过滤值必须是字符串、数值或逻辑值 (filter values are scalars)")
    plain = ColumnSpec(spec.name, spec.title, spec.column, spec.data_type)
    value = convert(plain, raw)
    if value is None:
        raise Invalid("过滤值为空 (empty filter value)")
    return value
