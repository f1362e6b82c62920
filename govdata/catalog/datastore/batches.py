"""The batch side of a load: read, check, report, write out as COPY CSV.

On PostgreSQL this runs in the loading process (``read_apart``, see ``loadproc``), which is
forked from a fork server that has imported this module: it and what it imports stay clear
of SQLAlchemy and the models (``columns``, not ``tables``), so that the fork server, which
lives as long as its worker, stays small and starts soon. On SQLite ``ingest`` runs
``load_batches`` in the caller's process.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from govdata.catalog.datastore import loadproc, safecsv
from govdata.catalog.datastore.columns import ROW_ID, ColumnSpec
from govdata.catalog.datastore.readers import Batch, Reader, open_reader
from govdata.catalog.datastore.stats import Gatherer
from govdata.catalog.datastore.validate import CellError, check_column
from govdata.platform.errors import RuleViolation

MAX_REPORTED_ERRORS = 1000
Progress = Callable[[int, int, int], None]  # (done, total, rows) in the reader's units


@dataclass
class Report:
    """What went wrong in an upload: the first errors in full, and how many in total."""

    limit: int = MAX_REPORTED_ERRORS
    errors: list[CellError] = field(default_factory=list)
    count: int = 0
    bad_rows: int = 0

    @property
    def budget(self) -> int:
        return max(self.limit - len(self.errors), 0)

    def add(self, errors: Sequence[CellError], count: int | None = None) -> None:
        self.errors.extend(errors[: self.budget])
        self.count += len(errors) if count is None else count

    def violation(self) -> RuleViolation:
        listed = len(self.errors)
        detail = (f"上传的数据有 {self.count} 处错误, 涉及 {self.bad_rows} 行, 未做任何更改"
                  f"{f'; 列出前 {listed} 处' if listed < self.count else ''} "
                  f"({self.count} problems in {self.bad_rows} rows; nothing was changed"
                  f"{f'; the first {listed} are listed' if listed < self.count else ''})")
        return RuleViolation(detail, code="data_rows_invalid",
                             errors=[error.as_problem() for error in self.errors])


def header_violation(errors: Sequence[CellError]) -> RuleViolation:
    return RuleViolation(
        f"表头与信息项不符, 有 {len(errors)} 处问题, 未做任何更改 "
        f"(the header does not match the data items; nothing was changed)",
        code="data_rows_invalid", errors=[error.as_problem() for error in errors])



def read_apart(sender: loadproc.Sender, path: Path, kind: str, specs: list[ColumnSpec],
               block_size: int) -> None:
    """In the loading process: read and check the file, send its COPY data while every row
    so far is good, then ``("done", rows, specs learnt, column stats, violation or None)``.
    ``ReadError``, ``RowTooLarge`` and a header's ``RuleViolation`` are raised to the
    parent as they are."""
    reader = open_reader(path, kind, specs, block_size=block_size)
    try:
        if reader.header_errors:
            raise header_violation(reader.header_errors)
        report, gatherer = Report(), Gatherer(specs)
        rows, loaded = load_batches(reader, specs, PipeWriter(sender, specs), report,
                             lambda *step: sender.message("progress", *step), gatherer)
        sender.message("done", rows, loaded, gatherer.result(),
                       report.violation() if report.count else None)
    finally:
        reader.close()



def load_batches(reader: Reader, specs: Sequence[ColumnSpec], writer: Writer, report: Report,
          progress: Progress | None, gatherer: Gatherer) -> tuple[int, list[ColumnSpec]]:
    """Check every batch; write them (and gather their statistics) while all rows so far
    were good. Returns the rows written and the specs with what was learnt of the data
    (``ColumnSpec.formulas``, ``escapes`` and ``whole_seconds``)."""
    written = 0
    position = {spec.name: index for index, spec in enumerate(specs)}
    formulas = [False if spec.data_type == "C" else None for spec in specs]
    escapes = list(formulas)
    whole = [True if spec.data_type == "T" else None for spec in specs]
    for batch in reader:
        arrays, errors, count, bad_rows = _check(batch, specs, report)
        if count:
            errors.sort(key=lambda e: (e.row or 0, position.get(e.column or "", -1)))
            report.add(errors, count)
            report.bad_rows += len(bad_rows)
        if report.count:
            writer.abort()
        elif batch.rows.count:
            ids = np.arange(written + 1, written + batch.rows.count + 1, dtype=np.int64)
            writer.write(ids, arrays)
            gatherer.add(arrays)
            written += batch.rows.count
            for index, array in enumerate(arrays):
                if formulas[index] is False and starts_like_formula(array):
                    formulas[index] = True
                if escapes[index] is False and holds_json_escapes(array):
                    escapes[index] = True
                if whole[index] and not whole_seconds(array):
                    whole[index] = False
        if progress:
            progress(batch.progress, reader.total, written)
    writer.finish()
    return written, [replace(spec, formulas=formula, escapes=escape, whole_seconds=seconds)
                     for spec, formula, escape, seconds
                     in zip(specs, formulas, escapes, whole, strict=True)]


_FORMULA_BYTES = np.zeros(256, np.bool_)
_FORMULA_BYTES[[ord(character) for character in safecsv.FORMULA_STARTS]] = True


def starts_like_formula(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether some text of ``array`` begins like a formula. Read off the first byte of
    each value in the string buffers (every such character is one byte in UTF-8): a few
    milliseconds a million values, where a regular expression takes tens."""
    for chunk in _string_chunks(array):
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], width)[chunk.offset:
                                                             chunk.offset + len(chunk) + 1]
        data = chunk.buffers()[2]
        if data is None:
            continue
        starts = offsets[:-1][offsets[1:] > offsets[:-1]]
        if _FORMULA_BYTES[np.frombuffer(data, np.uint8)[starts]].any():
            return True
    return False


def holds_json_escapes(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether some text of ``array`` holds a character JSON writes escaped: ``"``, a backslash
    or a control character, each one byte in UTF-8 and never part of another character's
    bytes. Read off the string buffers: some tens of milliseconds a million values."""
    for chunk in _string_chunks(array):
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], width)[chunk.offset:
                                                             chunk.offset + len(chunk) + 1]
        data = chunk.buffers()[2]
        if data is None or offsets[-1] <= offsets[0]:
            continue
        text = np.frombuffer(data, np.uint8)[offsets[0]:offsets[-1]]
        if (text < 0x20).any() or (text == ord('"')).any() or (text == ord("\\")).any():
            return True
    return False


def whole_seconds(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value of a datetime ``array`` (microseconds, as ``check_column``
    converts them) is a whole second; nulls count as whole. A few milliseconds a million
    values."""
    micros = pc.drop_null(array).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return not (micros % 1_000_000).any()


def _string_chunks(array: pa.Array | pa.ChunkedArray) -> Iterator[pa.Array]:
    """The non-empty chunks of ``array`` as (large) string arrays."""
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.string())
        if len(chunk):
            yield chunk


def _check(batch: Batch, specs: Sequence[ColumnSpec], report: Report
           ) -> tuple[list[pa.Array], list[CellError], int, set[int]]:
    """Converted columns, error details (within the report's budget), the number of errors
    and the row numbers of the bad rows."""
    arrays: list[pa.Array] = []
    errors: list[CellError] = list(batch.errors)
    count = len(batch.errors)
    bad_rows = {error.row or 0 for error in batch.errors}
    for spec in specs:
        result = check_column(spec, batch.columns.get(spec.name), batch.rows,
                              budget=max(report.budget - len(errors), 0))
        arrays.append(result.array)
        if result.error_count:
            errors.extend(result.errors)
            count += result.error_count
            bad_rows.update(batch.rows[index] for index in result.bad_rows.tolist())
    return arrays, errors, count, bad_rows





class Writer(abc.ABC):
    @abc.abstractmethod
    def write(self, ids: np.ndarray, arrays: Sequence[pa.Array]) -> None:
        ...

    def finish(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        pass

    def abort(self) -> None:  # noqa: B027 - optional hook
        pass



_UNQUOTED = pcsv.WriteOptions(include_header=False, quoting_style="none", batch_size=8192)
_QUOTED = pcsv.WriteOptions(include_header=False, quoting_style="needed", batch_size=8192)


def copy_text(array: pa.Array) -> pa.Array:
    """A column as the COPY CSV shows it. Timestamps with a time zone are written as UTC
    text with ``Z``, as pyarrow's CSV writer writes them, but about sixty times faster (it
    looks the zone up for every value: 4 of the 8 seconds of a million-row load); and
    without the fraction where every value of the batch is a whole second: the database
    reads the shorter text faster (5% of a COPY whose one datetime column has whole
    seconds)."""
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        naive = array.cast(pa.timestamp(array.type.unit))
        with contextlib.suppress(pa.ArrowInvalid):  # some value has a fraction of a second
            naive = naive.cast(pa.timestamp("s"))
        return pc.binary_join_element_wise(naive.cast(pa.string()), pa.scalar("Z"), "")
    return array


def csv_bytes(batch: pa.RecordBatch) -> pa.Buffer:
    """A batch as COPY CSV: unquoted when no value needs quotes (faster for the server to
    parse), else quoted. Nulls are empty fields; empty strings never reach here."""
    sink = pa.BufferOutputStream()
    try:
        pcsv.write_csv(batch, sink, _UNQUOTED)
    except pa.ArrowInvalid:
        sink = pa.BufferOutputStream()
        pcsv.write_csv(batch, sink, _QUOTED)
    return sink.getvalue()


class PipeWriter(Writer):
    """The loading process's writer: each batch as COPY CSV, sent to the parent."""

    def __init__(self, sender: loadproc.Sender, specs: Sequence[ColumnSpec]) -> None:
        self.sender = sender
        self.names = [ROW_ID, *(s.column for s in specs)]

    def write(self, ids: np.ndarray, arrays: Sequence[pa.Array]) -> None:
        batch = pa.RecordBatch.from_arrays([pa.array(ids), *map(copy_text, arrays)],
                                           names=self.names)
        self.sender.data(csv_bytes(batch))
