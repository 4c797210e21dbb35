"""Whether an action on a lead may happen now: the lead's stage, its owner and the pool rules.

One function, `refusal`, answers for the API (a quick check before Temporal is asked) and for
the `lead.act` activity (the decision, under the row lock), so both refuse with the same words.
Claims follow the rule's `pool` block, counted from the `lead_history` ledger:
- only an active member of the rule's team claims (a profile in `rm_profile`);
- `cooldown D`: a member who lost the lead (reassigned away, released it, or it returned to the
  pool) may claim it again only D after that moment;
- `claim at_most N per day`: N claims per member per local day (the plan's time zone);
- `hold at_most N`: no claim while the member holds N open leads, however they got them.
A refusal names what to wait for and until when (`until`, an aware datetime).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.errors import DomainError
from services.leads_assign import open_counts
from services.leads_clock import Timing, stage_of
from store.sales import LeadHistory, RmProfile
from store.work import Lead

LOST = ("reassigned", "released", "returned")  # ledger actions by which an owner loses a lead


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    status: int = 409
    until: dt.datetime | None = None

    def details(self) -> dict[str, object]:
        """JSON-safe details, as carried by the activity's error."""
        until = self.until.isoformat() if self.until else None
        return {"code": self.code, "status": self.status, "until": until}


class LeadRefusedError(DomainError):
    """An action the lead's state or its rule's pool forbids now (409, 403 or 422)."""

    title = "Lead action refused"

    def __init__(self, detail: str, *, code: str, status: int = 409, until: object = None) -> None:
        super().__init__(detail, code=code, **({"until": until} if until else {}))
        self.status = status


def _local(at: dt.datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")


def refusal(
    session: Session,
    lead: Lead,
    action: str,
    actor: str,
    role: str,
    *,
    at: dt.datetime,
    timing: Timing,
) -> Refusal | None:
    """Why `actor` may not take `action` on `lead` at `at`; None when they may."""
    stage = stage_of(lead)
    if stage == "closed":
        return Refusal("closed", f"lead {lead.id} is closed ({lead.status})")
    if action == "claim":
        if stage != "pool":
            return Refusal("not_in_pool", f"lead {lead.id} is not in the pool")
        return claim_refusal(session, lead, actor, at=at, timing=timing)
    if stage == "pool" and action != "disqualify":
        return Refusal("in_pool", f"lead {lead.id} is in the pool: claim it first")
    if role == "sales" and lead.owner != actor:
        return Refusal("not_owner", f"lead {lead.id} is not yours", status=403)
    return None


def claim_refusal(
    session: Session,
    lead: Lead,
    user: str,
    *,
    at: dt.datetime,
    timing: Timing,
) -> Refusal | None:
    """The pool rules' answer to `user` claiming the pool lead `lead` at `at`."""
    spec, tz = timing.spec, timing.tz
    profile = session.get(RmProfile, user)
    if profile is None or not profile.active:
        return Refusal(
            "not_an_rm",
            f"{user} has no active team profile: only relationship managers claim leads",
            status=422,
        )
    if profile.team != spec.team:
        return Refusal(
            "not_in_team",
            f"lead {lead.id} is in the pool of team {spec.team}; {user} works in {profile.team}",
            status=403,
        )
    pool = spec.pool
    if pool.cooldown is not None:
        lost_at = session.scalar(
            sa.select(sa.func.max(LeadHistory.occurred_at)).where(
                LeadHistory.lead_id == lead.id,
                LeadHistory.from_owner == user,
                LeadHistory.action.in_(LOST),
            )
        )
        if lost_at is not None:
            ends = timing.add(lost_at, pool.cooldown)
            if at < ends:
                return Refusal(
                    "cooldown",
                    f"you held lead {lead.id} until {_local(lost_at, tz)}; rule {spec.name} lets "
                    f"a previous owner claim it again only after a cooldown, from "
                    f"{_local(ends, tz)}",
                    until=ends,
                )
    if pool.claims_per_day is not None:
        zone = ZoneInfo(tz)
        day = at.astimezone(zone).date()
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        claims = session.scalar(
            sa.select(sa.func.count()).where(
                LeadHistory.to_owner == user,
                LeadHistory.action == "claimed",
                LeadHistory.occurred_at >= start,
            )
        )
        if (claims or 0) >= pool.claims_per_day:
            tomorrow = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            return Refusal(
                "claim_limit",
                f"you claimed {claims} leads today, the most rule {spec.name} allows a day; "
                f"claim again from {_local(tomorrow, tz)}",
                until=tomorrow,
            )
    if pool.hold_at_most is not None:
        held = open_counts(session, [user])[user]
        if held >= pool.hold_at_most:
            return Refusal(
                "hold_limit",
                f"you hold {held} open leads, the most rule "
                f"{spec.name} lets you hold; close or release one first",
            )
    return None
