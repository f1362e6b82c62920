"""Chinese public identifiers (RULES.md §5): 统一社会信用代码, 公民身份号码, 行政区划代码."""

from __future__ import annotations

import datetime as dt
import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_DIVISION_SHAPE = re.compile(r"^\d{6}$")


def uscc_check_character(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 (GB 32100-2015) for its first 17."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    if len(code) != 18 or any(c not in _USCC_VALUE for c in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


def id_number_check_character(first17: str) -> str:
    """The 18th character of a 公民身份号码 (GB 11643-1999) for its first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(number: str) -> bool:
    """Shape, a real birth date, and the check character."""
    if not _ID_SHAPE.match(number):
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1800 or born > dt.date.today():
        return False
    return id_number_check_character(number[:17]) == number[17]


def is_division_code_shape(code: str) -> bool:
    """Six digits; whether the code exists is checked against the seed's code list."""
    return bool(_DIVISION_SHAPE.match(code))
