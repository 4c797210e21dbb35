"""The journey run index: which journey workflow ids the event router has started.

Events are filtered before they touch Temporal (DESIGN.md, scale rules), and that includes the
events a journey only listens to (its exits and `wait for event` steps): at 100 M transactions
a day, a journey that exits "on transaction" would otherwise be signalled for every customer,
nearly all of whom never entered it. `journey_run` has one row per workflow id the router
signalled-with-start, written and committed before the Temporal call, so a listened event is
signalled only to ids with a row (`existing`, one primary-key `IN` per chunk of a batch).
Rows are removed lazily: a signal that Temporal answers NOT_FOUND (the run ended) `forget`s
its row, so an ended run costs at most one wasted call. `started_at` is the last time the
router recorded a start for the id, refreshed by every signal-with-start: `forget` keeps rows
refreshed recently, so a NOT_FOUND racing a concurrent restart of the same id cannot delete
the new run's row. Rows hold ids only, never personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base

CHUNK = 500  # ids per `IN`: below SQLite's bound-parameter limit, small plans on PostgreSQL


class JourneyRun(Base):
    """A journey workflow the router started (it may have ended since; see `forget`)."""

    __tablename__ = "journey_run"

    workflow_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    ruleset: Mapped[str] = mapped_column(sa.String(100))
    journey: Mapped[str] = mapped_column(sa.String(100))
    customer_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    started_at: Mapped[datetime]  # the router's latest start of this id (wall clock)


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def record(session: Session, runs: Sequence[dict[str, Any]]) -> None:
    """Insert the runs, or refresh `started_at` of ids already there; safe under concurrency."""
    # One row per id (PostgreSQL refuses a statement that updates a row twice), in id order so
    # concurrent batches lock overlapping rows in the same order and cannot deadlock.
    rows = sorted(
        {run["workflow_id"]: run for run in runs}.values(), key=lambda r: r["workflow_id"]
    )
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(JourneyRun)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workflow_id"], set_={"started_at": stmt.excluded.started_at}
    )
    session.execute(stmt, rows)


def existing(session: Session, workflow_ids: Iterable[str]) -> set[str]:
    """The ids among `workflow_ids` that have a row."""
    found: set[str] = set()
    for chunk in _chunks(workflow_ids):
        query = sa.select(JourneyRun.workflow_id).where(JourneyRun.workflow_id.in_(chunk))
        found.update(session.scalars(query))
    return found


def forget(session: Session, workflow_ids: Iterable[str], *, started_before: datetime) -> int:
    """Delete the rows of ended runs, unless a start after `started_before` refreshed them."""
    deleted = 0
    for chunk in _chunks(workflow_ids):
        result = session.execute(
            sa.delete(JourneyRun)
            .where(JourneyRun.workflow_id.in_(chunk), JourneyRun.started_at < started_before)
            .execution_options(synchronize_session=False)
        )
        deleted += result.rowcount
    return deleted
