"""The business calendar: official CN holidays and make-up workdays, deadline arithmetic, and
properties that hold for any start, duration and business hours (hypothesis)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendars import BusinessCalendar, YearTable, get_calendar, parse_hours, unknown_years
from dsl.plan import DurationSpec

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
CN, WEEKDAYS = get_calendar("CN"), get_calendar("WEEKDAYS")
NINE_TO_SIX = parse_hours("09:00", "18:00")


def business(amount: int, unit: str = "day") -> DurationSpec:
    return DurationSpec(amount=amount, unit=unit, business=True)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_cn_knows_national_day_and_its_make_up_workdays():
    assert not CN.is_business_day(dt.date(2024, 10, 1))  # National Day, a Tuesday
    assert CN.is_business_day(dt.date(2024, 9, 29))  # a Sunday worked to make up for it
    assert CN.is_business_day(dt.date(2024, 10, 12))  # a Saturday worked too
    assert not CN.is_business_day(dt.date(2024, 9, 28))  # an ordinary Saturday
    assert WEEKDAYS.is_business_day(dt.date(2024, 10, 1))


def test_business_days_skip_holidays_at_the_same_local_time():
    monday = at(2024, 9, 30, 10)
    assert CN.add(monday, business(3), tz=TZ) == at(2024, 10, 10, 10)
    assert WEEKDAYS.add(monday, business(3), tz=TZ) == at(2024, 10, 3, 10)
    # Friday 11 October + 1 lands on the make-up Saturday, not on Monday.
    assert CN.add(at(2024, 10, 11, 16, 30), business(1), tz=TZ) == at(2024, 10, 12, 16, 30)
    # A start on a day off counts from that day.
    assert CN.add(at(2024, 10, 5, 10), business(1), tz=TZ) == at(2024, 10, 8, 10)
    # The result keeps the caller's time zone.
    utc = CN.add(monday.astimezone(dt.UTC), business(3), tz=TZ)
    assert utc.tzinfo is dt.UTC and utc == at(2024, 10, 10, 10)


def test_business_hours_and_days_within_hours():
    friday_late = at(2024, 9, 27, 17)
    # One hour left on Friday, none on the weekend, then Sunday the 29th is a make-up workday.
    assert CN.add(friday_late, business(3, "hour"), hours=NINE_TO_SIX, tz=TZ) == at(2024, 9, 29, 11)
    # With 09:00-18:00 a business day is nine business hours.
    assert CN.add(at(2024, 9, 30, 9), business(1), hours=NINE_TO_SIX, tz=TZ) == at(2024, 9, 30, 18)
    assert CN.add(at(2024, 9, 30, 9), business(2), hours=NINE_TO_SIX, tz=TZ) == at(2024, 10, 8, 18)
    # A start outside hours begins at the next opening.
    assert CN.add(at(2024, 9, 30, 20), business(30, "minute"), hours=NINE_TO_SIX, tz=TZ) == at(
        2024, 10, 8, 9, 30
    )
    assert CN.business_seconds_between(
        at(2024, 9, 30, 17), at(2024, 10, 8, 10), hours=NINE_TO_SIX, tz=TZ
    ) == (2 * 3600)


def test_calendar_time_and_months():
    start = at(2024, 1, 31, 10)
    assert CN.add(start, DurationSpec(amount=1, unit="month"), tz=TZ) == at(2024, 2, 29, 10)
    assert CN.add(start, DurationSpec(amount=1, unit="year"), tz=TZ) == at(2025, 1, 31, 10)
    assert CN.add(start, DurationSpec(amount=2, unit="day"), tz=TZ) == at(2024, 2, 2, 10)


def test_years_without_data_fall_back_to_weekends_and_are_reported():
    assert CN.covers(2024) and not CN.covers(2099)
    assert CN.is_business_day(dt.date(2099, 1, 1))  # a Thursday nobody has declared yet
    assert unknown_years(CN, dt.date(2026, 12, 1), dt.date(2027, 1, 10)) == [2027]
    assert unknown_years(WEEKDAYS, dt.date(2098, 1, 1), dt.date(2099, 1, 1)) == []


def test_tables_are_data_that_can_be_extended():
    extra = YearTable(holidays=frozenset({dt.date(2099, 1, 1)}), workdays=frozenset())
    extended = CN.extended({2099: extra})
    assert not extended.is_business_day(dt.date(2099, 1, 1))
    assert extended.is_business_day(dt.date(2024, 9, 29)) and CN.is_business_day(
        dt.date(2099, 1, 1)
    )
    with pytest.raises(ValueError, match="no business days"):
        BusinessCalendar("never", weekend=frozenset(range(7))).business_days_after(
            dt.date(2024, 1, 1), 1
        )
    with pytest.raises(ValueError, match="naive"):
        CN.add(dt.datetime(2024, 1, 1), business(1), tz=TZ)
    with pytest.raises(ValueError, match="unknown calendar"):
        get_calendar("MARS")


# --- properties ------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2023, 12, 1), max_value=dt.datetime(2026, 10, 1), timezones=st.just(SH)
)
hour_choices = st.sampled_from([None, NINE_TO_SIX, parse_hours("08:30", "12:00")])
calendars = st.sampled_from([CN, WEEKDAYS])


@settings(max_examples=200, deadline=None)
@given(
    start=starts,
    amount=st.integers(0, 40),
    hours=hour_choices,
    calendar=calendars,
    unit=st.sampled_from(["minute", "hour"]),
)
def test_adding_business_time_is_measured_back_exactly(start, amount, hours, calendar, unit):
    end = calendar.add(start, business(amount, unit), hours=hours, tz=TZ)
    assert end >= start
    seconds = calendar.business_seconds_between(start, end, hours=hours, tz=TZ)
    assert seconds == amount * (60 if unit == "minute" else 3600)
    if amount:
        local = end.astimezone(SH)
        assert calendar.is_business_day(local.date() - dt.timedelta(days=local.time() == dt.time()))
        if hours:
            assert hours[0] < local.time() <= hours[1]


@settings(max_examples=200, deadline=None)
@given(start=starts, amount=st.integers(0, 25), calendar=calendars)
def test_business_days_land_on_the_nth_business_day_at_the_same_time(start, amount, calendar):
    end = calendar.add(start, business(amount), tz=TZ).astimezone(SH)
    assert end.time() == start.time()
    days = [
        start.date() + dt.timedelta(days=i) for i in range(1, (end.date() - start.date()).days + 1)
    ]
    assert sum(calendar.is_business_day(d) for d in days) == amount
    assert amount == 0 or calendar.is_business_day(end.date())
    assert calendar.add(start, business(amount + 1), tz=TZ) > end


@settings(max_examples=200, deadline=None)
@given(a=starts, b=starts, c=starts, hours=hour_choices)
def test_business_seconds_add_up_and_change_sign(a, b, c, hours):
    def between(x, y):
        return CN.business_seconds_between(x, y, hours=hours, tz=TZ)

    a, b, c = sorted([a, b, c])
    assert between(a, b) + between(b, c) == pytest.approx(between(a, c))
    assert between(c, a) == -between(a, c)
    assert 0 <= between(a, b) <= (b - a).total_seconds()
