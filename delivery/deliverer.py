"""`Deliverer.send`: gate, render, record in the outbox and send one page of a send step.

The crash-safety order (DESIGN.md step 5): in one committed transaction, each customer's
decision is recorded (a `contact_decision` row) and their `message` row is inserted under the
unique idempotency key `runtime.contracts.idempotency_key(root_run_id, step, customer)`, with
status `pending` for a send; only then is the channel called; a second transaction records the
outcome. A retry after any crash finds the rows: final ones (sent, suppressed, failed) count as
duplicates, pending ones are resent under the same key (the gateway dedupes it), deferred ones
are re-decided once due. A page is a handful of statements whatever its size (see `facts`).

Transient channel failures leave messages pending and raise a retryable ApplicationError, so
the calling activity's retry policy backs off and tries again; permanent ones mark the message
failed (listed by `GET /v1/messages?status=failed`) and are never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from delivery import facts as bulk
from delivery import outbox
from delivery.channels import Channels, Outgoing, redact
from delivery.compose import Composer, Page
from delivery.context import ContextBuilder
from delivery.gate import ContactGate, caps_for
from delivery.report import DeliveryReport
from delivery.templates import Renderer
from dsl.local_time import LocalRun
from dsl.plan import CapSpec, PolicySpec, SendStep
from runtime.contracts import RuleRef, idempotency_key
from store.outbox import MessageStatus
from store.session import session_scope

log = logging.getLogger(__name__)
TRANSIENT_ERROR = "DeliveryTransientError"
__all__ = ["TRANSIENT_ERROR", "Deliverer", "DeliveryReport"]


class Deliverer:
    """Delivers send steps; build one per worker and share it between activity threads."""

    def __init__(self, session_factory: sessionmaker[Session], channels: Channels,
                 renderer: Renderer, contexts: ContextBuilder | None = None) -> None:  # fmt: skip
        self.session_factory, self.channels, self.renderer = session_factory, channels, renderer
        self.composer = Composer(renderer, contexts or _default_contexts())

    @classmethod
    def from_settings(cls, settings: Any, session_factory: sessionmaker[Session]) -> Deliverer:
        """Channels, templates and render context from `settings`."""
        return cls(
            session_factory,
            Channels.from_settings(settings),
            Renderer.from_settings(settings),
            ContextBuilder.from_settings(settings.delivery),
        )

    def close(self) -> None:
        """Release the channels' connections (HTTP clients, thread pools) at worker shutdown."""
        self.channels.close()

    def send(self, *, rule: RuleRef, root_run_id: str, step: SendStep,
             customer_ids: Sequence[str], policy: PolicySpec | None, caps: list[CapSpec],
             now: datetime, event_id: int | None = None,
             local: LocalRun | None = None) -> DeliveryReport:  # fmt: skip
        """Gate, render, record in the outbox and send each customer's message; never twice.

        `local` is the run of a local-time campaign: each send waits for its customer's slot.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (the workflow's clock, in UTC)")
        ids = list(dict.fromkeys(customer_ids))
        if not ids:
            return DeliveryReport()
        keys = {cid: idempotency_key(root_run_id, step.step, cid) for cid in ids}
        gate = ContactGate(channel=step.channel, category=rule.category, policy=policy,
                           caps=caps_for(rule.category, policy, caps), now=now,
                           local=local)  # fmt: skip
        for attempt in range(3):
            page = Page(rule=rule, root_run_id=root_run_id, step=step, keys=keys, now=now)
            try:
                with session_scope(self.session_factory) as session:
                    self._decide(session, page, gate, policy, event_id)
                break
            except IntegrityError:
                # Another worker recorded some of these keys first: decide again, finding them.
                if attempt == 2:
                    raise
        report = page.report
        if page.outgoing:
            self._send(page.outgoing, step.channel, report, now)
        return report

    def _decide(self, session: Session, page: Page, gate: ContactGate,
                policy: PolicySpec | None, event_id: int | None) -> None:  # fmt: skip
        # Lock first: a concurrent attempt at this page, or another campaign's page with these
        # customers, waits here and then sees our outbox rows (and counts them against caps).
        customers = bulk.load_customers(session, list(page.keys), lock=True)
        found = outbox.existing(session, list(page.keys.values()))
        to_gate, resend = [], []
        for cid, key in page.keys.items():
            row = found.get(key)
            if row is None:
                to_gate.append(cid)
            elif row.status in outbox.FINAL:
                page.report.duplicates += 1
            elif row.status == MessageStatus.PENDING:
                resend.append(cid)  # may or may not have gone out: resend, the key dedupes
            elif row.due_at is not None and row.due_at > page.now:
                page.report.deferred[cid] = row.due_at.isoformat()
            else:
                to_gate.append(cid)
                page.existing_ids[cid] = row.id
        needed = to_gate + resend
        if not needed:
            return
        consents = bulk.load_consents(session, needed)
        counts = bulk.cap_counts(session, to_gate, gate.caps, rule=page.rule, now=page.now,
                                 policy_category=policy.category if policy else None)  # fmt: skip
        facts = bulk.build_facts(customers, consents, counts, needed, page.step.channel,
                                 len(gate.caps))  # fmt: skip
        for cid in page.existing_ids:  # deferred rows now due have waited for their slot
            facts[cid].waited = True
        page.extra = bulk.load_event_context(session, event_id)
        for cid in to_gate:
            self.composer.decide(page, gate.decide(facts[cid]), customers.get(cid), facts[cid])
        for cid in resend:
            self.composer.resend(page, customers.get(cid), facts[cid])
        outbox.insert_messages(session, page.new_rows)
        outbox.update_messages(session, page.update_rows)
        outbox.insert_decisions(session, page.decisions)
        outbox.mark_errors(session, page.resend_errors, final=True)

    def _send(self, outgoing: list[Outgoing], channel: str, report: DeliveryReport,
              now: datetime) -> None:  # fmt: skip
        results = self.channels.get(channel).send_batch(outgoing)
        # Providers echo addresses in their errors; errors go to the outbox and to Temporal.
        for errors in (results.failed, results.transient):
            errors.update({key: redact(error) for key, error in errors.items()})
        with session_scope(self.session_factory) as session:
            outbox.mark_sent(session, results.sent, now)
            outbox.mark_errors(session, results.failed, final=True)
            outbox.mark_errors(session, results.transient, final=False)
        report.sent += len(results.sent)
        report.failed += len(results.failed)
        if results.transient:
            first = next(iter(results.transient.values()))
            raise ApplicationError(
                f"{len(results.transient)} {channel} message(s) not sent yet: {first}",
                type=TRANSIENT_ERROR,
            )


def _default_contexts() -> ContextBuilder:
    from config.settings import DeliverySettings

    return ContextBuilder.from_settings(DeliverySettings())
