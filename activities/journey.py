"""The activities of a journey: entry, condition evaluation, business-time deadlines, sends.

`JourneyActivities` is built once per worker with the session factory, the `Deliverer` and the
settings, and registered under the names in `workflows.journey_types`. Conditions are evaluated
here, on records read at call time (`activities.journey_records`), at the time the workflow
passes in, so history holds only booleans. Entry is audited (`journey.entered`, subject the
journey's workflow id): that entry is also what `reentry never` checks once Temporal's retention
has forgotten the earlier run. Deadlines count on the calendar in force (the database's years
over the package's, `calendars.store.business_calendar`) unless the worker was built with
calendars of its own. Sync activities: the worker runs them in its thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journey_records import customer_record, evaluate, event_record
from calendars import BusinessCalendar, unknown_years
from calendars import store as calendar_store
from store import audit
from store import journey as journey_runs
from store.audit import AuditEntry
from store.base import utcnow
from store.event import Event
from store.session import session_scope
from workflows import journey_types as jt

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"  # audit actor of what workflows do on a rule's behalf


class JourneyActivities:
    """Journey activities bound to a database, a Deliverer and the settings."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        deliverer: Any,
        settings: Any = None,
        *,
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        self.session_factory, self.deliverer, self.settings = session_factory, deliverer, settings
        self.calendars = dict(calendars or {})

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, to pass to `Worker(activities=...)`."""
        return [self.enter, self.evaluate, self.deadline, self.send]

    @activity.defn(name=jt.ENTER.name)
    def enter(self, request: jt.EnterRequest) -> jt.EnterResult:
        """Check the entry condition and `reentry never`; audit the entry."""
        with session_scope(self.session_factory) as session:
            event = _event(session, request.event_id)
            earlier = session.execute(
                sa.select(AuditEntry.detail).where(
                    AuditEntry.subject_type == "journey",
                    AuditEntry.subject_id == request.workflow_id,
                    AuditEntry.action == "journey.entered",
                )
            ).scalars()
            entries = [d.get("event_id") for d in earlier]
            if request.event_id in entries:  # this very entry, recorded by an earlier attempt
                return jt.EnterResult(entered=True, occurred_at=event.occurred_at)
            if request.reentry_never and entries:
                return jt.EnterResult(entered=False, reason="reentry_never")
            customer = customer_record(session, request.customer_id, request.now)
            if customer is None:
                return jt.EnterResult(entered=False, reason="no_customer")
            if request.entry is not None:
                record = customer | event_record(event)
                [ok] = evaluate([request.entry], record, now=request.now, timezone=request.timezone)
                if not ok:
                    return jt.EnterResult(entered=False, reason="entry_condition")
            rule = request.rule
            audit.append(
                session,
                actor=SYSTEM_ACTOR,
                action="journey.entered",
                subject_type="journey",
                subject_id=request.workflow_id,
                ruleset=rule.ruleset,
                ruleset_version=rule.version,
                rule=rule.rule,
                detail={"event_id": request.event_id, "plan_hash": rule.plan_hash},
            )
            # The run index the event router reads: the router records it before starting,
            # this records it whoever started the run (an older node, a lost row), so a
            # running journey always gets the events it listens for.
            journey_runs.record(session, [{
                "workflow_id": request.workflow_id, "ruleset": rule.ruleset,
                "journey": rule.rule, "customer_id": request.customer_id,
                "started_at": utcnow(),
            }])  # fmt: skip
            return jt.EnterResult(entered=True, occurred_at=event.occurred_at)

    @activity.defn(name=jt.EVALUATE.name)
    def evaluate(self, request: jt.EvaluateRequest) -> list[bool]:
        """Each condition on the customer (and the event, if any) at the workflow's time."""
        with self.session_factory() as session:
            record = customer_record(session, request.customer_id, request.now)
            if record is None:  # the customer row is gone: no condition about it holds
                return [False] * len(request.conditions)
            if request.event_id is not None:
                record |= event_record(_event(session, request.event_id))
        return evaluate(request.conditions, record, now=request.now, timezone=request.timezone)

    @activity.defn(name=jt.DEADLINE.name)
    def deadline(self, request: jt.DeadlineRequest) -> datetime:
        """`start + duration` on the journey's business calendar."""
        with self.session_factory() as session:
            calendar = pick_calendar(session, self.calendars, request.calendar)
        end = calendar.add(request.start, request.duration, tz=request.timezone)
        if missing := unknown_years(calendar, request.start.date(), end.date()):
            log.warning(
                "calendar %s has no holiday table for %s: weekends only", calendar.name, missing
            )
        return end

    @activity.defn(name=jt.SEND.name)
    def send(self, request: jt.SendRequest) -> jt.SendOutcome:
        """Deliver one send step to this journey's customer (gate, outbox, channel)."""
        report = self.deliverer.send(
            rule=request.rule,
            root_run_id=request.root_run_id,
            step=request.step,
            customer_ids=[request.customer_id],
            policy=request.policy,
            caps=request.caps,
            now=request.now,
            event_id=request.event_id,
        )
        deferred = report.deferred.get(request.customer_id)
        return jt.SendOutcome(
            sent=report.sent,
            suppressed=report.suppressed,
            failed=report.failed,
            duplicates=report.duplicates,
            deferred_until=deferred_at(deferred) if deferred else None,
        )


def pick_calendar(
    session: Session, injected: Mapping[str, BusinessCalendar], name: str
) -> BusinessCalendar:
    """The named business calendar: an injected one, else the one in force in the database."""
    if name in injected:
        return injected[name]
    try:
        # The database's years over the package's: operations edit holidays without a release.
        return calendar_store.business_calendar(session, name)
    except ValueError as exc:  # an unknown name (CalendarDataError)
        raise ApplicationError(str(exc), type="UnknownCalendar", non_retryable=True) from None


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        # The router signals only stored, committed events: a missing row is a real fault.
        raise ApplicationError(
            f"event {event_id} not found", type="EventNotFound", non_retryable=True
        )
    return event


def deferred_at(iso: str) -> datetime:
    """A Deliverer report's deferred-until time (ISO text) as an aware datetime, naive as UTC."""
    at = datetime.fromisoformat(iso)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
