"""Query parameters shared by list routes: page size caps, offset pages and time ranges.

`limit` may not exceed `settings.api.page_size_max` (a 422 says so, rather than a silently
shorter page a client might take for the end of the list); `offset_page` builds the answer of
a `limit`/`offset` list, whose `next` is the following page's offset, null after a short page.
Datetimes must carry a timezone: a naive one names no instant, and guessing its zone is how
audit queries go wrong by hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from api.schemas import Page

DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000_000  # beyond this, keyset pagination is the tool
MAX_INT32 = 2**31 - 1  # version numbers: INTEGER on PostgreSQL
MAX_INT64 = 2**63 - 1  # audit sequence numbers: BIGINT


def _invalid(loc: tuple[str, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


def page_limit(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, description="Page size (default 50).")] = None,
) -> int:
    """The requested page size, checked against the configured cap."""
    cap = request.app.state.settings.api.page_size_max
    if limit is None:
        return min(DEFAULT_LIMIT, cap)
    if limit > cap:
        raise _invalid(("query", "limit"), f"limit must be at most {cap}")
    return limit


Limit = Annotated[int, Depends(page_limit)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def offset_page(items: list[Any], offset: int, limit: int) -> Page[Any]:
    """The page of `items` read at `offset`: a full page may have a next one, a short one not."""
    return Page(items=items, next=offset + limit if len(items) == limit else None)


def to_utc(value: datetime | None, name: str) -> datetime | None:
    """`value` converted to UTC; 422 when the conversion leaves the representable range."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _invalid(("query", name), "datetime is out of range") from None


@dataclass(frozen=True, slots=True)
class TimeRange:
    since: datetime | None
    until: datetime | None


def time_range(
    since: Annotated[AwareDatetime | None, Query(description="From this instant (incl.).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this instant.")] = None,
) -> TimeRange:
    """The `since`/`until` filter, both in UTC."""
    return TimeRange(to_utc(since, "since"), to_utc(until, "until"))


Window = Annotated[TimeRange, Depends(time_range)]
