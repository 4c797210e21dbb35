"""The static types of the rule language.

Types are plain string-valued enums so they serialise into plans unchanged. `ANNIVERSARY` is a
date that recurs every year (a birthday, an account-opening date): `is today` on it compares
month and day, on a plain `DATE` the whole date.
"""

from __future__ import annotations

from enum import StrEnum


class Type(StrEnum):
    NUMBER = "number"
    STRING = "string"
    BOOL = "bool"
    DATE = "date"
    ANNIVERSARY = "anniversary"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"
    STRING_LIST = "list<string>"
    NUMBER_LIST = "list<number>"
    PRODUCTS = "products"

    @property
    def is_temporal(self) -> bool:
        return self in (Type.DATE, Type.ANNIVERSARY, Type.DATETIME)

    @property
    def is_ordered(self) -> bool:
        return self in _ORDERED


_ORDERED = frozenset(
    {Type.NUMBER, Type.STRING, Type.DATE, Type.ANNIVERSARY, Type.DATETIME, Type.TIME}
)


def comparable(left: Type, right: Type) -> bool:
    """Whether `left <op> right` is well typed."""
    dates = (Type.DATE, Type.ANNIVERSARY)
    if left in dates and right in dates:
        return True
    return left == right
