"""Who gets a lead: round robin, by region or by load within a team, under capacity caps.

Candidates are the team's active members (`rm_profile`), minus `exclude` (the lead's earlier
owners in this pool cycle, on reassignment), minus members at capacity (their own `capacity`,
else the rule's; open leads of every rule count). Then, by the rule's strategy:
- `round_robin`: the next eligible member after the last one served, in name order, with one
  persisted turn per team and partition (`lead_cursor`), so turns survive restarts and workers;
- `by_region`: the least loaded member of the lead's region;
- `by_load`: the least loaded member of the team (ties go to the first name).
`by lead.region` (or `by_region`) limits candidates to members of the lead's region, falling
back to the whole team when the region has none; another partition field only keeps a turn of
its own. The team's profile rows are locked first, so two concurrent assignments cannot both
take a member's last free slot. Returns (user name or None, reason).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dsl.plan_ops import LeadSpec
from services.leads_clock import OPEN
from services.leads_rules import lead_record
from store.sales import LeadCursor, RmProfile
from store.work import Lead

UNLIMITED = 2**31


def open_counts(session: Session, users: Collection[str]) -> dict[str, int]:
    """Open leads held by each of `users` (zero for those holding none)."""
    counts = dict.fromkeys(users, 0)
    if users:
        rows = session.execute(
            sa.select(Lead.owner, sa.func.count())
            .where(Lead.owner.in_(list(users)), Lead.status.in_(OPEN))
            .group_by(Lead.owner)
        )
        counts.update({owner: count for owner, count in rows})
    return counts


def pick_owner(
    session: Session, lead: Lead, spec: LeadSpec, *, exclude: Collection[str] = ()
) -> tuple[str | None, str]:
    """The member who gets `lead` now, and why; (None, reason) when nobody can take it."""
    members: Sequence[RmProfile] = session.scalars(
        sa.select(RmProfile)
        .where(RmProfile.team == spec.team, RmProfile.active.is_(True))
        .order_by(RmProfile.user_name)
        .with_for_update()
    ).all()
    reason, partition = spec.strategy, ""
    field = spec.partition_by or ("lead.region" if spec.strategy == "by_region" else None)
    if field is not None:
        value = lead_record(lead).get(field)
        partition = "" if value is None else str(value)[:64]
        if field == "lead.region":
            local = [m for m in members if m.region == value]
            if local:
                members = local
            else:
                reason += f"; no member in region {partition}: whole team"
    loads = open_counts(session, [m.user_name for m in members])
    eligible = [
        m.user_name
        for m in members
        if m.user_name not in exclude and loads[m.user_name] < _cap(m, spec)
    ]
    if not eligible:
        return None, f"no member of {spec.team} can take it"
    if spec.strategy == "round_robin":
        return _next_in_turn(session, spec.team, partition, eligible), reason
    return min(eligible, key=lambda name: (loads[name], name)), reason


def _cap(member: RmProfile, spec: LeadSpec) -> int:
    if member.capacity is not None:
        return member.capacity
    return spec.capacity if spec.capacity is not None else UNLIMITED


def _next_in_turn(session: Session, team: str, partition: str, eligible: list[str]) -> str:
    cursor = session.get(LeadCursor, (team, partition), with_for_update=True)
    after = cursor.last_owner if cursor else ""
    # `eligible` is in name order: the first name after the last one served, else wrap around.
    chosen = next((name for name in eligible if name > after), eligible[0])
    if cursor is None:
        session.add(LeadCursor(team=team, partition=partition, last_owner=chosen))
    else:
        cursor.last_owner = chosen
    return chosen
