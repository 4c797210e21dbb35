"""The contact gate: whether one customer may get one message now, decided at send time.

Pure and fast (a page of 500 customers is decided in memory from facts read in bulk). The
checks run in a fixed order and the first that fails is the recorded reason:

1. the customer exists and has an address for the channel (`customer_not_found`, `no_address`);
2. marketing only: the bank's do-not-disturb flag (`do_not_disturb`), marketing consent for the
   channel or `all` (`opted_out` when withdrawn, `consent_expired`, `no_consent`), and the
   policy's `requires` (`requires_consent`). A withdrawal on the channel or on `all` wins over
   any grant: a customer who replied "TD" is never re-enrolled by an older, broader consent;
3. frequency caps (`frequency_cap` for the policy's, counted over every rule of the policy's
   category, so service messages never use up marketing caps; `rule_cap` for the rule's own);
4. a local-time campaign (`dsl.local_time`): the send waits for the schedule's time on the
   customer's own clock (`local_time`), and is dropped once their local date is over
   (`local_date_passed`: a birthday greeting a day late is worse than none);
5. quiet hours in the customer's time zone: the send is deferred to the window's opening.

Service messages need no marketing consent and ignore do-not-disturb (a repayment notice is
not marketing); personalisation opt-out (PIPL art. 24) likewise shapes marketing content only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dsl.local_time import LocalRun
from dsl.plan import CapSpec, DurationSpec, PolicySpec
from store.outbox import Decision

FALLBACK_ZONE = "Asia/Shanghai"
# consent.<name> -> (channel, purpose): the same reading the audience SQL uses (dsl.sqlclause).
CONSENT_PATHS = {
    **{f"consent.{ch}": (ch, "marketing") for ch in ("sms", "email", "push", "phone")},
    "consent.marketing": ("all", "marketing"),
    "consent.personalisation": ("all", "personalisation"),
}
# Caps over months, years or business time use a fixed length no shorter than the real one,
# so an approximation can only make a cap stricter, never let an extra message through.
_APPROX_SECONDS = {"month": 31 * 86400, "year": 366 * 86400}


@dataclass(frozen=True, slots=True)
class ConsentRow:
    granted: bool
    expires_at: datetime | None
    source: str


@dataclass(slots=True)
class Facts:
    """What the gate reads about one customer (loaded in bulk by `delivery.facts`)."""

    customer_id: str
    exists: bool = True
    address: str | None = None
    timezone: str = FALLBACK_ZONE
    do_not_disturb: bool = False
    consents: dict[tuple[str, str], ConsentRow] = field(default_factory=dict)
    cap_counts: list[int] = field(default_factory=list)  # aligned with the gate's caps
    waited: bool = False  # a deferred send now due: its local-time slot has come already


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reason: str | None = None
    detail: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cap:
    """One cap to count: `scope` is "policy" (a category across rules) or "rule"."""

    scope: str
    limit: int
    seconds: int
    label: str


def window_seconds(window: DurationSpec) -> int:
    """A cap window's length in seconds (business units counted as calendar ones: longer)."""
    seconds = window.fixed_seconds()
    if seconds is not None:
        return seconds
    if window.unit in _APPROX_SECONDS:
        return window.amount * _APPROX_SECONDS[window.unit]
    return DurationSpec(amount=window.amount, unit=window.unit).fixed_seconds() * 7 // 5 + 1


def caps_for(category: str, policy: PolicySpec | None, rule_caps: list[CapSpec]) -> list[Cap]:
    """The caps a send obeys: the policy's unless it is a service send under a marketing
    policy, then the rule's own."""
    caps: list[Cap] = []
    if policy is not None and not (category == "service" and policy.category == "marketing"):
        for cap in policy.caps:
            label = f"{policy.name}: {cap.count} per {cap.window.amount} {cap.window.unit}"
            caps.append(Cap("policy", cap.count, window_seconds(cap.window), label))
    for cap in rule_caps:
        label = f"rule: {cap.count} per {cap.window.amount} {cap.window.unit}"
        caps.append(Cap("rule", cap.count, window_seconds(cap.window), label))
    return caps


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    """The customer's zone; an unknown name falls back to the bank's home zone."""
    try:
        return ZoneInfo(name or FALLBACK_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_ZONE)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, timezone: str | None, start: str, end: str) -> datetime | None:
    """When the quiet window `start`-`end` (local, may wrap midnight) around `now` opens, in
    UTC; None when `now` is outside it."""
    begin, finish = _clock(start), _clock(end)
    if begin == finish:
        return None
    tz = zone(timezone)
    local = now.astimezone(tz)
    at = local.time().replace(tzinfo=None)
    day: date = local.date()
    if begin < finish:
        inside = begin <= at < finish
    else:
        inside = at >= begin or at < finish
        if at >= begin:
            day += timedelta(days=1)
    if not inside:
        return None
    return datetime.combine(day, finish, tzinfo=tz).astimezone(UTC)


class ContactGate:
    """Decides for one send (one rule, step and channel) at one instant."""

    def __init__(self, *, channel: str, category: str, policy: PolicySpec | None,
                 caps: list[Cap], now: datetime,
                 local: LocalRun | None = None) -> None:  # fmt: skip
        self.channel, self.category, self.policy = channel, category, policy
        self.caps, self.now, self.local = caps, now, local
        self.marketing = category == "marketing"

    def decide(self, facts: Facts) -> Verdict:
        """The verdict for one customer; the first failing check is the reason."""
        if not facts.exists:
            return Verdict(Decision.SUPPRESSED, "customer_not_found")
        if not facts.address:
            return Verdict(Decision.SUPPRESSED, "no_address", self.channel)
        if self.marketing:
            if facts.do_not_disturb:
                return Verdict(Decision.SUPPRESSED, "do_not_disturb")
            refusal = self._consent(facts)
            if refusal is not None:
                return refusal
        for cap, count in zip(self.caps, facts.cap_counts, strict=True):
            if count >= cap.limit:
                reason = "frequency_cap" if cap.scope == "policy" else "rule_cap"
                return Verdict(Decision.SUPPRESSED, reason, f"{cap.label} (has {count})")
        tz = facts.timezone
        if self.local is not None:
            tz = self.local.zone_of(tz)  # an unknown name is the campaign's zone, as in its SQL
            verdict = self._local_time(self.local, facts, tz)
            if verdict is not None:
                return verdict
        policy = self.policy
        if policy is not None and policy.quiet_start and policy.quiet_end:
            due = quiet_until(self.now, tz, policy.quiet_start, policy.quiet_end)
            if due is not None:
                detail = f"quiet {policy.quiet_start}-{policy.quiet_end} {tz}"
                return Verdict(Decision.DEFERRED, "quiet_hours", detail, due)
        return Verdict(Decision.SENT)

    def _local_time(self, local: LocalRun, facts: Facts, tz: str) -> Verdict | None:
        """Wait for the customer's slot; past their local date (a run paused overnight, a
        night-time schedule pushed past quiet hours) a birthday greeting is late: drop it."""
        # A due row keeps the slot it was given: a customer who moved zones since is not
        # deferred again to a slot on another date (and greeted twice).
        if not facts.waited:
            slot = local.slot(tz)
            if slot > self.now:
                return Verdict(Decision.DEFERRED, "local_time", f"{local.at:%H:%M} {tz}", slot)
        served = local.local_date(tz)
        if self.now.astimezone(zone(tz)).date() > served:
            return Verdict(Decision.SUPPRESSED, "local_date_passed", f"{served} {tz}")
        return None

    def _consent(self, facts: Facts) -> Verdict | None:
        rows = [facts.consents.get((ch, "marketing")) for ch in (self.channel, "all")]
        rows = [row for row in rows if row is not None]
        withdrawn = [row for row in rows if not row.granted]
        if withdrawn:
            return Verdict(Decision.SUPPRESSED, "opted_out", withdrawn[0].source)
        if not any(self._valid(row) for row in rows):
            reason = "consent_expired" if rows else "no_consent"
            return Verdict(Decision.SUPPRESSED, reason, f"{self.channel}/marketing")
        for path in self.policy.requires if self.policy else []:
            row = facts.consents.get(CONSENT_PATHS.get(path, ("", "")))
            if row is None or not self._valid(row):
                return Verdict(Decision.SUPPRESSED, "requires_consent", path)
        return None

    def _valid(self, row: ConsentRow) -> bool:
        return row.granted and (row.expires_at is None or row.expires_at > self.now)
