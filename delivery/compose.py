"""Turning one customer's verdict into rows and a message: the outbox row, the decision record
and, for a send, the rendered `Outgoing`.

A `Page` collects everything one `Deliverer.send` call writes, so the deliverer can write it in
a few bulk statements. Rendering happens here, before anything is sent: a template that cannot
render is a failed message (`render_failed`, listed with the failures) and, for a customer who
opted out of personalisation, a suppression (`personalisation_opt_out_unrenderable`), because
sending them a personalised text instead would break PIPL art. 24. Every render error is
permanent, the caps' included: the time cap counts only the template's own CPU time (see
`delivery.templates`), so a busy machine cannot breach it and a retry would fail the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from delivery.channels import Outgoing, redact
from delivery.context import ContextBuilder
from delivery.gate import Facts, Verdict
from delivery.report import DeliveryReport
from delivery.templates import Renderer, RenderError
from dsl.plan import SendStep
from runtime.contracts import RuleRef
from store.outbox import Decision, MessageStatus

STATUS = {
    Decision.SENT: MessageStatus.PENDING,
    Decision.SUPPRESSED: MessageStatus.SUPPRESSED,
    Decision.DEFERRED: MessageStatus.DEFERRED,
}


@dataclass
class Page:
    rule: RuleRef
    root_run_id: str
    step: SendStep
    keys: dict[str, str]  # customer id -> idempotency key
    now: datetime
    report: DeliveryReport = field(default_factory=DeliveryReport)
    existing_ids: dict[str, int] = field(default_factory=dict)  # deferred rows now due
    extra: dict[str, Any] = field(default_factory=dict)  # event/ticket context
    new_rows: list[dict] = field(default_factory=list)
    update_rows: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    resend_errors: dict[str, str] = field(default_factory=dict)


def personalised(row: Any, facts: Facts, category: str) -> bool:
    """Whether this message may be personalised: not for marketing to a customer who opted
    out (the customer flag, or a withdrawn personalisation consent)."""
    if category != "marketing":
        return True
    withdrawn = facts.consents.get(("all", "personalisation"))
    return not (row.personalisation_opt_out or (withdrawn is not None and not withdrawn.granted))


class Composer:
    def __init__(self, renderer: Renderer, contexts: ContextBuilder) -> None:
        self.renderer, self.contexts = renderer, contexts

    def _render(self, page: Page, row: Any, facts: Facts) -> tuple[Outgoing, dict[str, Any]]:
        step = page.step
        allowed = personalised(row, facts, page.rule.category)
        locale = self.renderer.resolve_locale(step.channel, step.template, row.locale)
        context = self.contexts.build(
            row, locale, channel=step.channel, personalised=allowed,
            campaign={"name": page.rule.rule, "title": page.rule.rule}, extra=page.extra,
        )  # fmt: skip
        rendered = self.renderer.render(step.channel, step.template, locale, context)
        digest = hashlib.sha256(f"{rendered.subject or ''}\n{rendered.body}".encode()).hexdigest()
        message = Outgoing(
            key=page.keys[row.id], channel=step.channel, customer_id=row.id, to=facts.address,
            body=rendered.body, subject=rendered.subject,
            unsubscribe_url=context.get("unsubscribe_url"),
        )  # fmt: skip
        values = {"locale": rendered.locale, "template_version": rendered.version,
                  "rendered_hash": digest[:32]}  # fmt: skip
        return message, values

    def decide(self, page: Page, verdict: Verdict, row: Any, facts: Facts) -> None:
        """Record one gated customer: row, decision and (for a send) the message."""
        cid, values = facts.customer_id, {}
        error = None
        if verdict.decision is Decision.SENT:
            general = not personalised(row, facts, page.rule.category)
            try:
                message, values = self._render(page, row, facts)
                page.outgoing.append(message)
                if general:
                    verdict = Verdict(Decision.SENT, None, "non-personalised (opt-out)")
            except RenderError as exc:
                if general:
                    verdict = Verdict(Decision.SUPPRESSED, "personalisation_opt_out_unrenderable")
                else:
                    verdict, error = Verdict(Decision.SUPPRESSED, "render_failed"), redact(str(exc))
        status = MessageStatus.FAILED if error else STATUS[verdict.decision]
        if error:
            page.report.failed += 1
        elif verdict.decision is Decision.SUPPRESSED:
            page.report.suppressed += 1
        elif verdict.decision is Decision.DEFERRED:
            page.report.deferred[cid] = verdict.due_at.isoformat()
        self._rows(page, cid, status, verdict, values, error)

    def _rows(self, page: Page, cid: str, status: MessageStatus, verdict: Verdict,
              values: dict[str, Any], error: str | None) -> None:  # fmt: skip
        rule, step, key = page.rule, page.step, page.keys[cid]
        version = values.get("template_version") or self._version(step, values)
        row = {"status": status, "due_at": verdict.due_at, "last_error": error, **values}
        if cid in page.existing_ids:
            page.update_rows.append({"id": page.existing_ids[cid], **row})
        else:
            page.new_rows.append({
                "idempotency_key": key, "workflow_id": page.root_run_id, "step": step.step,
                "customer_id": cid, "channel": step.channel, "template": step.template,
                "category": rule.category, "ruleset": rule.ruleset, "rule": rule.rule,
                "attempts": 0, "created_at": page.now, **row,
            })  # fmt: skip
        page.decisions.append({
            "customer_id": cid, "channel": step.channel, "decision": verdict.decision,
            "reason": verdict.reason, "detail": (verdict.detail or "")[:200] or None,
            "rule": rule.rule, "ruleset": rule.ruleset, "ruleset_version": rule.version,
            "plan_hash": rule.plan_hash[:64], "template": step.template,
            "template_version": version, "workflow_id": page.root_run_id, "step": step.step,
            "idempotency_key": key, "category": rule.category, "decided_at": page.now,
        })  # fmt: skip

    def _version(self, step: SendStep, values: dict[str, Any]) -> str | None:
        try:
            locale = values.get("locale") or self.renderer.resolve_locale(
                step.channel, step.template, None
            )
            return self.renderer.version(step.channel, step.template, locale)
        except (RenderError, OSError):
            return None

    def resend(self, page: Page, row: Any, facts: Facts) -> None:
        """A pending message from an earlier attempt: render again and resend under its key."""
        key = page.keys[facts.customer_id]
        if row is None or not facts.address:
            page.resend_errors[key] = "customer or address gone before the resend"
            page.report.failed += 1
            return
        try:
            page.outgoing.append(self._render(page, row, facts)[0])
        except RenderError as exc:
            page.resend_errors[key] = redact(str(exc))
            page.report.failed += 1
