"""Local-time runs: every zone's customers get one slot per run, on consecutive local dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest

from dsl.local_time import LocalRun

HOME = "Asia/Shanghai"
STEP = 11  # days between sampled runs


def run_of(day: date, home: str = HOME, at: str = "09:00") -> LocalRun:
    hours, minutes = (int(p) for p in at.split(":"))
    fire = datetime.combine(day, time(hours, minutes), ZoneInfo(home))
    return LocalRun.of(fire, at, home)


@pytest.mark.parametrize(
    ("zone", "local_day", "utc_slot"),
    [
        ("Asia/Shanghai", date(2026, 3, 1), datetime(2026, 3, 1, 1, 0, tzinfo=UTC)),
        ("Asia/Urumqi", date(2026, 3, 1), datetime(2026, 3, 1, 3, 0, tzinfo=UTC)),
        ("Asia/Kolkata", date(2026, 3, 1), datetime(2026, 3, 1, 3, 30, tzinfo=UTC)),
        ("Europe/London", date(2026, 3, 1), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("America/New_York", date(2026, 3, 1), datetime(2026, 3, 1, 14, 0, tzinfo=UTC)),
        ("Pacific/Pago_Pago", date(2026, 3, 1), datetime(2026, 3, 1, 20, 0, tzinfo=UTC)),
        # East of Shanghai, 09:00 on 1 March has passed when the run fires: theirs is 2 March.
        ("Asia/Tokyo", date(2026, 3, 2), datetime(2026, 3, 2, 0, 0, tzinfo=UTC)),
        ("Pacific/Auckland", date(2026, 3, 2), datetime(2026, 3, 1, 20, 0, tzinfo=UTC)),
        ("Pacific/Kiritimati", date(2026, 3, 2), datetime(2026, 3, 1, 19, 0, tzinfo=UTC)),
        # An unknown name counts as the home zone.
        ("Mars/Olympus_Mons", date(2026, 3, 1), datetime(2026, 3, 1, 1, 0, tzinfo=UTC)),
    ],
)
def test_each_zone_is_served_its_local_date_at_nine(zone, local_day, utc_slot) -> None:
    run = run_of(date(2026, 3, 1))
    assert run.local_date(zone) == local_day
    assert run.slot(zone) == utc_slot


def test_a_trigger_off_schedule_serves_the_home_date_it_fired_on() -> None:
    late = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo(HOME))
    run = LocalRun.of(late, "09:00", HOME)
    assert run.day == date(2026, 3, 1)
    assert run.slot(HOME) < late  # already due: the gate sends at once


@pytest.mark.parametrize(("home", "at"), [(HOME, "09:00"), ("America/New_York", "10:30")])
def test_consecutive_runs_give_every_zone_consecutive_dates_through_dst(home, at) -> None:
    """Over two years of daily runs each zone's dates follow one another, each slot is at the
    schedule's local time, and it falls within the day after the run fires (an hour of slack
    where daylight saving moves the two zones apart)."""
    hours, minutes = (int(p) for p in at.split(":"))
    clock = time(hours, minutes)
    zones = sorted(available_timezones())
    first = date(2026, 1, 1)
    previous = {z: run_of(first - timedelta(days=1), home, at).local_date(z) for z in zones}
    for offset in range(0, 730, STEP):  # a sample of days keeps it fast; dates step by STEP
        day = first + timedelta(days=offset)
        run = run_of(day, home, at)
        fire = datetime.combine(day, clock, ZoneInfo(home))
        for z in zones:
            local = run.local_date(z)
            assert (local - previous[z]).days == (STEP if offset else 1), (z, day)
            previous[z] = local
            slot = run.slot(z)
            if slot.astimezone(ZoneInfo(z)).time() == clock:  # else 'at' fell in a DST gap
                assert slot.astimezone(ZoneInfo(z)).date() == local, (z, day)
            assert fire - timedelta(hours=1) <= slot < fire + timedelta(hours=25), (z, day)


def test_zone_groups_cover_every_zone_once_and_home_is_group_zero() -> None:
    groups = run_of(date(2026, 7, 1)).zone_shifts()
    names = [name for group in groups.values() for name in group]
    assert len(names) == len(set(names)) == len(available_timezones())
    assert HOME in groups[0]
    assert "Asia/Tokyo" in groups[1]
    assert set(groups) <= {-1, 0, 1}


@pytest.mark.parametrize(
    ("home", "zone", "shift"),
    [
        # Ireland records GMT as "negative saving" in winter: still the same day as London.
        ("Europe/London", "Europe/Dublin", 0),
        ("Europe/Dublin", "Europe/London", 0),
        # Southern summer in January: Auckland's standard offset is +12, not +13.
        ("Asia/Shanghai", "Pacific/Auckland", 1),
        ("Australia/Sydney", "Asia/Shanghai", 0),
        # 25 hours apart: Pago Pago's 09:00 comes before Kiritimati's of two days later.
        ("Pacific/Pago_Pago", "Pacific/Kiritimati", 2),
    ],
)
def test_shifts_come_from_standard_offsets(home, zone, shift) -> None:
    for day in (date(2026, 1, 10), date(2026, 7, 10)):  # the same in both seasons
        assert run_of(day, home).shift(zone) == shift, (home, zone, day)
