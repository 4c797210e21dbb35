"""Local-time campaigns: "at 09:00 on the customer's birthday" on each customer's own clock.

A daily campaign whose audience tests a customer date with `is today` (a birthday greeting, a
contract-end reminder) is about the customer's calendar, not the bank's: a customer in New York
is chosen on their New York date and greeted at 09:00 New York time. One scheduled run still
serves everyone: the run of home date D (the campaign zone's date at its fire time) covers, in
every zone Z, the local date D + shift(Z), and sends to Z at the schedule's time on that date.
`shift` is the whole number of days that puts Z's slot at or after the home zone's (within a
day), computed from *standard* offsets so it never changes with daylight saving: the runs of
consecutive home dates give every zone consecutive local dates, so nobody is skipped or greeted
twice when clocks change. The slot itself is the real local time (DST-aware); only where a zone
shares the home zone's standard offset but not its daylight saving can it fall before the run
fires (by that saving: an hour, two for Antarctica/Troll), and is then sent when the run starts.
Two edges stay: a zone whose *standard* offset changes by law shifts differently from one year
to the next, so on that 1 January one of its dates is served twice or not at all (a rule cap
such as `at_most once per customer per 360 days` absorbs the double); and a customer who moves
between zones in the hours between selection and slot is sent at the slot chosen for them
(the gate keeps a due row's slot), which may fall on another local date in their new zone,
where the next run can choose them again (the same rule cap absorbs that).

The audience SQL groups zones by shift (`zone_shifts`, each group's `today` = D + shift); the
contact gate defers each send to its slot (`LocalRun.slot`). Unknown zone names count as the
home zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dsl.plan import CampaignSpec

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LocalRun:
    """The run of home date `day` of a campaign at `at` whose zone is `home`."""

    day: date
    at: time
    home: str

    @classmethod
    def of_campaign(cls, campaign: CampaignSpec, home: str, as_of: datetime) -> LocalRun | None:
        """The run fired at `as_of` of a local-time campaign; None for any other campaign."""
        schedule = campaign.schedule
        if schedule is None or not schedule.local_time:
            return None
        return cls.of(as_of, schedule.at, home)

    @classmethod
    def of(cls, as_of: datetime, at: str, home: str) -> LocalRun:
        """The run fired at `as_of` of a campaign scheduled at `at` ("HH:MM") in `home`."""
        hours, minutes = (int(part) for part in at.split(":"))
        return cls(as_of.astimezone(ZoneInfo(home)).date(), time(hours, minutes), home)

    def zone_of(self, zone: str | None) -> str:
        """The zone a customer's sends count in: theirs, or the home zone for an unknown name."""
        return _known(zone, self.home)

    def shift(self, zone: str | None) -> int:
        """Days from the home date to `zone`'s local date in this run (-1 to +2: a home at
        UTC-12 and a zone at UTC+14 are 26 hours apart)."""
        return _shift(self.home, _known(zone, self.home), self.day.year)

    def local_date(self, zone: str | None) -> date:
        """The customer's date this run serves in `zone` (their `today`)."""
        return self.day + self.shift(zone) * DAY

    def slot(self, zone: str | None) -> datetime:
        """When, in UTC, this run sends to a customer in `zone`: `at` on their local date."""
        name = _known(zone, self.home)
        local = datetime.combine(self.local_date(name), self.at, tzinfo=ZoneInfo(name))
        return local.astimezone(UTC)

    def zone_shifts(self) -> dict[int, frozenset[str]]:
        """Every known zone name grouped by its shift (the home zone's group is 0)."""
        return _groups(self.home, self.day.year)


def _known(zone: str | None, home: str) -> str:
    return zone if zone and zone in _zone_names() else home


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _standard_minutes(zone: str, year: int) -> int:
    """The zone's standard UTC offset in minutes: the smaller of its January and July offsets
    (daylight saving moves clocks forward in either hemisphere; Ireland's "winter time" is
    the negative saving the tz database records, and this reads it as GMT all the same)."""
    offsets = []
    for month in (1, 7):
        try:
            probe = datetime(year, month, 15, 12, tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            return 0
        offsets.append((probe.utcoffset() or timedelta()).total_seconds() // 60)
    return int(min(offsets))


@cache
def _shift(home: str, zone: str, year: int) -> int:
    # Z's `at` on home date D + k lies k days plus (home offset - Z offset) after the home's:
    # the k that puts it within [0, 1 day) of the home's slot.
    gap = _standard_minutes(home, year) - _standard_minutes(zone, year)
    return -(gap // (24 * 60))


@cache
def _groups(home: str, year: int) -> dict[int, frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for name in _zone_names():
        groups.setdefault(_shift(home, name, year), set()).add(name)
    groups.setdefault(0, set())
    return {shift: frozenset(names) for shift, names in sorted(groups.items())}
