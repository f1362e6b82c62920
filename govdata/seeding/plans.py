"""The five big-data plans as clause trees, so the seed catalogs can cite them checkably.

A plan is plain text whose structure is carried by line prefixes:

- ``一、`` top-level heading                        → label ``一``
- ``(一)`` / ``（一）`` under it                     → ``一(一)``
- ``1.`` / ``1、`` / ``1。`` paragraph under that   → ``一(一)1``
- ``(1)`` / ``（1）`` under a numbered paragraph    → ``一(一)1(1)``
- ``附件`` / ``附表`` / ``附屬檔案`` (an appendix)   → ``附件``

Text before the first heading is the clause ``序``. A clause's text includes the text of all its
sub-clauses, so a quote from ``二(一)3`` is also inside ``二(一)`` and ``二``.

Quotes are compared after removing all whitespace (the pages wrap lines mid-sentence) and the
pinyin glosses that the Henan text puts after some characters, e.g. ``數(shù)據(jù)`` → ``數據``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from govdata.platform.settings import get_settings

PLAN_DIR = Path(__file__).resolve().parents[3] / "shared" / "seeds"
PREFACE = "序"
APPENDIX = "附件"

_NUMERALS = "一二三四五六七八九十"
_TOP = re.compile(rf"^([{_NUMERALS}]+)、")
_SECTION = re.compile(rf"^[(（]([{_NUMERALS}]+)[)）]")
_ITEM = re.compile(r"^(\d{1,2})[.．、。](?!\d)")
_SUBITEM = re.compile(r"^[(（](\d{1,2})[)）]")
_APPENDIX = re.compile(r"^(附件|附表|附屬檔案|附属档案)")

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_GLOSS = re.compile(rf"[(（](?=[^)）]*[{_TONED}])[a-zü{_TONED}]{{1,7}}[)）]")
_SPACE = re.compile(r"\s+")


def plan_dir() -> Path:
    """Where the plan texts are: ``GOVDATA_PLAN_DIR`` if set, else ``shared/seeds``."""
    configured = get_settings().plan_dir
    return Path(configured) if configured else PLAN_DIR


def normalise(text: str) -> str:
    """Text as quotes are compared: no pinyin glosses, no whitespace."""
    return _SPACE.sub("", _GLOSS.sub("", text))


@dataclass
class Plan:
    path: Path
    clauses: dict[str, str] = field(default_factory=dict)
    _normalised: dict[str, str] = field(default_factory=dict, repr=False)

    def clause_text(self, label: str) -> str:
        return self.clauses[label]

    def contains(self, label: str, quote: str) -> bool:
        """Whether ``quote`` appears inside clause ``label`` (False for an unknown label)."""
        if label not in self.clauses:
            return False
        if label not in self._normalised:
            self._normalised[label] = normalise(self.clauses[label])
        needle = normalise(quote)
        return bool(needle) and needle in self._normalised[label]


def _heading(line: str) -> tuple[int, str] | None:
    """(depth, own label part) if ``line`` opens a clause."""
    if _APPENDIX.match(line):
        return 0, APPENDIX
    if m := _TOP.match(line):
        return 0, m.group(1)
    if m := _SECTION.match(line):
        return 1, f"({m.group(1)})"
    if m := _ITEM.match(line):
        return 2, m.group(1)
    if m := _SUBITEM.match(line):
        return 3, f"({m.group(1)})"
    return None


def parse_plan(text: str) -> dict[str, str]:
    """Clause label → clause text (heading line included, sub-clauses included)."""
    lines: dict[str, list[str]] = {PREFACE: []}
    open_clauses: list[tuple[int, str]] = [(-1, PREFACE)]  # (depth, label), outermost first
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if found := _heading(line):
            depth, part = found
            open_clauses = [(d, lab) for d, lab in open_clauses if 0 <= d < depth]
            label = (open_clauses[-1][1] if open_clauses else "") + part
            open_clauses.append((depth, label))
            lines.setdefault(label, [])
        for _, label in open_clauses:
            lines[label].append(line)
    return {label: "\n".join(body) for label, body in lines.items()}


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    return Plan(path=path, clauses=parse_plan(path.read_text(encoding="utf-8")))
