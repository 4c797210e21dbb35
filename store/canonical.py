"""Canonical JSON: one byte-exact text for a JSON value, so hashes of it are reproducible.

Keys are sorted, separators are compact, non-ASCII stays UTF-8, NaN and infinities are refused
(they are not JSON). Values that are not JSON natively are converted once, by `normalise`,
before anything is stored or hashed: datetimes and dates to ISO 8601, decimals to strings (so
money keeps its exact digits), enums to their values, sets and tuples to lists.
"""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    # Money: a string keeps every digit, a float would not.
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of `value` (sorted keys, compact, UTF-8, no NaN)."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )


def normalise(value: Any) -> Any:
    """`value` as plain JSON types, exactly as it will read back from a JSON column."""
    return json.loads(canonical_json(value))
