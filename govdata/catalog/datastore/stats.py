"""What a version's text columns hold, gathered while it loads (``Gatherer``), so that
queries can skip work they would otherwise do row by row:

- ``bytes``: the byte values that occur in the column's UTF-8 text (a 256-bit set, in hex).
  A search word with a character none of whose case variants' bytes the column has cannot
  occur in it: an English word in a column of Chinese names, a Chinese word in a column of
  codes. That column is not searched (``may_contain``).
- ``values``: for a column with at most ``MAX_VALUES`` distinct values, each value and its
  number of rows. A search word becomes the list of values containing it (matched by the
  database, with its own rules, over that short list), so the table is scanned with an
  equality instead of a LIKE per row; and the total of a query whose one condition is on
  such a column is a sum of counts, with no scan at all.

A version loaded before these were gathered has none (``None``): its queries do what they
always did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from govdata.catalog.datastore.columns import TEXT_TYPES, ColumnSpec

MAX_VALUES = 1_000
# Characters other than a letter's own two cases that PostgreSQL's ILIKE folds to it
# (towlower: KELVIN SIGN → k, LATIN CAPITAL LETTER I WITH DOT ABOVE → i).
FOLDED_INTO = {"k": "\u212a", "i": "\u0130"}
ColumnStats = Mapping[str, Any]


class Gatherer:
    """Collects the statistics of the text columns batch by batch."""

    def __init__(self, specs: Sequence[ColumnSpec]) -> None:
        self.text = [(index, spec) for index, spec in enumerate(specs)
                     if spec.data_type in TEXT_TYPES]
        self.present = {spec.column: np.zeros(256, dtype=bool) for _, spec in self.text}
        self.values: dict[str, dict[str, int] | None] = {spec.column: {} for _, spec in self.text}

    def add(self, arrays: Sequence[pa.Array]) -> None:
        """A batch's converted columns, in the order of the specs. The bytes of a column
        still counting its values are read off those few values, not off every row."""
        for index, spec in self.text:
            array = arrays[index]
            if array.null_count == len(array):
                continue
            counts = self.values[spec.column]
            tally = None if counts is None else pc.value_counts(array)
            if counts is None or tally is None or len(tally) > MAX_VALUES:
                self.values[spec.column] = None
                self.present[spec.column] |= _bytes_present(array)
                continue
            values = tally.field("values")
            self.present[spec.column] |= _bytes_present(values)
            for value, count in zip(values.to_pylist(), tally.field("counts").to_pylist(),
                                    strict=True):
                if value is not None:
                    counts[value] = counts.get(value, 0) + count
            if len(counts) > MAX_VALUES:
                self.values[spec.column] = None

    def result(self) -> dict[str, dict[str, Any]]:
        return {column: {"bytes": _hex(present), "values": self.values[column]}
                for column, present in self.present.items()}


def _hex(present: np.ndarray) -> str:
    return np.packbits(present).tobytes().hex()


def _set(stats: ColumnStats | None, key: str) -> np.ndarray | None:
    if not stats or not stats.get(key):
        return None
    return np.unpackbits(np.frombuffer(bytes.fromhex(stats[key]), np.uint8)).astype(bool)


def _bytes_present(array: pa.Array) -> np.ndarray:
    """Which byte values occur in the text of ``array``. Counted by pairs of bytes (65,536
    bins), three times as fast as byte by byte, whose counting widens every byte to 64 bits."""
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    offsets = np.frombuffer(array.buffers()[1], np.int32, count=len(array) + 1,
                            offset=array.offset * 4)
    data = array.buffers()[2]
    present = np.zeros(256, dtype=bool)
    if data is None or offsets[-1] == offsets[0]:
        return present
    raw = np.frombuffer(data, np.uint8, count=int(offsets[-1] - offsets[0]),
                        offset=int(offsets[0]))
    pairs = np.flatnonzero(np.bincount(raw[: len(raw) & ~1].view(np.uint16),
                                       minlength=1 << 16))
    present[pairs & 0xFF] = True
    present[pairs >> 8] = True
    if len(raw) & 1:
        present[raw[-1]] = True
    return present


def may_contain(stats: ColumnStats | None, word: str) -> bool:
    """Whether a column with these statistics may hold ``word`` (never wrongly ``False``).
    A character passes if the bytes of one of its case variants are all there; a non-ASCII
    letter with cases always passes (its foldings are many and depend on the database)."""
    present = _set(stats, "bytes")
    if present is None:
        return True
    for char in word:
        cased = char.lower() != char.upper()
        if cased and not char.isascii():
            continue
        variants = {char}
        if cased:
            lower = char.lower()
            variants |= {lower, char.upper(), *FOLDED_INTO.get(lower, "")}
        if not any(all(present[byte] for byte in variant.encode()) for variant in variants):
            return False
    return True


def values_of(stats: ColumnStats | None) -> dict[str, int] | None:
    """Each value of a column with few distinct values and its row count (else ``None``)."""
    if not stats:
        return None
    return stats.get("values")
