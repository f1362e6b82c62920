"""Resource codes (信息资源代码, RULES.md §2): ``<classification>/<sequence>``.

The classification is 类 (1 digit: 1 basic, 2 theme, 3 department) + 项 (2) + 目 (3) + an
optional 细目 (more digits). The sequence is zero-padded to six digits, unique within the
classification and never handed out twice: ``catalog_code_sequence`` keeps the last one per
classification and is advanced with one ``UPDATE … RETURNING``, which takes the row lock on
PostgreSQL (concurrent creates queue on it) and runs under SQLite's single writer.
"""

from __future__ import annotations

import re

from sqlalchemy import case, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.catalog.models import CodeSequence
from govdata.catalog.vocab import CLASS_DIGIT

CLASSIFICATION = re.compile(r"^[123]\d{5}\d{0,10}$")
RESOURCE_CODE = re.compile(r"^(?P<classification>[123]\d{5}\d{0,10})/(?P<sequence>\d{6,})$")
SEQUENCE_DIGITS = 6
_TABLE = CodeSequence.__table__


def classification_problem(classification: str, resource_class: str | None) -> str | None:
    """Why a classification code is not acceptable for the class, or ``None``."""
    if not CLASSIFICATION.match(classification or ""):
        return ("信息资源分类代码应为 类(1位) + 项(2位) + 目(3位) + 细目(可选) 的数字, "
                f"共 6–16 位, 首位 1/2/3: {classification!r}")
    expected = CLASS_DIGIT.get(resource_class)  # type: ignore[call-overload]
    if expected is not None and classification[0] != expected:
        return (f"分类代码首位 {classification[0]} 与资源类别不符: "
                f"{resource_class} 的分类代码以 {expected} 开头")
    return None


def format_code(classification: str, sequence: int) -> str:
    return f"{classification}/{sequence:0{SEQUENCE_DIGITS}d}"


def parse_code(code: str) -> tuple[str, int] | None:
    match = RESOURCE_CODE.match(code or "")
    if not match:
        return None
    return match["classification"], int(match["sequence"])


def _ensure_row(session: Session, classification: str) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(_TABLE).values(classification=classification, last_sequence=0)
                    .on_conflict_do_nothing(index_elements=["classification"]))


def allocate(session: Session, classification: str) -> str:
    """The next code of the classification; the sequence row stays locked until commit."""
    _ensure_row(session, classification)
    sequence = session.execute(
        update(_TABLE).where(_TABLE.c.classification == classification)
        .values(last_sequence=_TABLE.c.last_sequence + 1)
        .returning(_TABLE.c.last_sequence)
    ).scalar_one()
    return format_code(classification, sequence)


def reserve(session: Session, code: str) -> None:
    """Move the sequence past a code given from outside (a catalog import), so the
    platform never hands it out again."""
    parsed = parse_code(code)
    if parsed is None:
        raise ValueError(f"not a resource code: {code!r}")
    classification, sequence = parsed
    _ensure_row(session, classification)
    session.execute(
        update(_TABLE).where(_TABLE.c.classification == classification)
        .values(last_sequence=case((_TABLE.c.last_sequence < sequence, sequence),
                                   else_=_TABLE.c.last_sequence))
    )
