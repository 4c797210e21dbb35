"""Relationship managers' team profiles: who works leads in which team and region, for whom.

Profiles come from HR or branch administration (there is no API for them yet); these helpers
are what seeding, the demo and tests use. `put_rm` creates or updates one profile; a member
who leaves is made inactive rather than deleted, so their leads' history still names them.
`seed_demo_profiles` gives the demo's sales user (`rm.liu`) a team, colleagues and reports, so
the shipped `corporate_leads` rules assign demo leads instead of pooling them at once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.sales import RmProfile


def put_rm(
    session: Session,
    user_name: str,
    *,
    team: str,
    region: str | None = None,
    manager: str | None = None,
    capacity: int | None = None,
    active: bool = True,
) -> RmProfile:
    """Create or update the profile of `user_name`."""
    profile = session.get(RmProfile, user_name)
    if profile is None:
        profile = RmProfile(user_name=user_name, team=team)
        session.add(profile)
    profile.team, profile.region, profile.manager = team, region, manager
    profile.capacity, profile.active = capacity, active
    session.flush()
    return profile


# user -> (team, region, manager): the teams the shipped corporate_leads rules assign within.
DEMO_PROFILES = {
    "rm.liu": ("corporate-rm", "EAST", None),
    "rm.zhao": ("corporate-rm", "EAST", "rm.liu"),
    "rm.sun": ("corporate-rm", "NORTH", "rm.liu"),
    "rm.qian": ("sme-rm", "EAST", "rm.liu"),
    "rm.zhou": ("sme-rm", "NORTH", "rm.liu"),
}


def seed_demo_profiles(session: Session) -> int:
    """Create or refresh the demo teams' profiles (idempotent); how many there are."""
    for name, (team, region, manager) in DEMO_PROFILES.items():
        put_rm(session, name, team=team, region=region, manager=manager)
    return len(DEMO_PROFILES)
