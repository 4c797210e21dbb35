"""A simulated year of the daily birthday campaign on the time-skipping server.

The time-skipping server runs no Schedules, so the test is the schedule: for each day it moves
the clock to 09:00 in the ruleset's zone (Asia/Shanghai) and starts that day's run with the id
and run key the schedule would give it. Customers have birthdays on every day of a leap year
(29 February included), live in seven zones from Auckland to New York (half-hour offsets,
daylight saving in both hemispheres, zones east of Shanghai whose 09:00 comes before the run
fires) and some have no SMS consent. The campaign is a local-time one (dsl.local_time): each
run chooses every customer on their own local date and sends at 09:00 on their own clock.
Asserted at the recording gateway and in the outbox: exactly one greeting per consenting
customer, on their birthday in their local date (29 February greeted on 28 February in a
common year, on 29 February in a leap year), at 09:00 local time, never inside 21:00-08:30
local, none without consent.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from store.outbox import Message
from tests.workflows.campaign_seed import customer_id, seed_customers
from tests.workflows.campaign_support import campaign_worker, run_input
from workflows.campaign_run import CampaignRunWorkflow
from workflows.campaign_types import CampaignRunResult

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Tokyo", "Europe/London", "America/New_York",
         "Asia/Kolkata", "Pacific/Auckland"]  # fmt: skip
LEAP_DAYS = [date(2000, 1, 1) + timedelta(days=d) for d in range(366)]
PER_DAY = len(ZONES)
FIRE_AT = time(9, 0)


def birthday(index: int) -> date | None:
    day = LEAP_DAYS[index // PER_DAY % 366]
    return None if index >= 366 * PER_DAY else day.replace(year=2000 - 4 * (index % 7))


def zone(index: int) -> str:
    return ZONES[index % PER_DAY]


def consents(index: int) -> bool:
    return index % 5 != 0


async def fire_daily(env, task_queue, first: date, days: int) -> dict[str, CampaignRunResult]:
    """Start one run per day at 09:00 Shanghai, as the Schedule would; run id -> result."""
    results = {}
    for offset in range(days):
        fire = datetime.combine(first + timedelta(days=offset), FIRE_AT, SHANGHAI)
        await env.sleep(fire - await env.get_current_time())
        input = run_input("birthday_greeting", fire.isoformat())
        handle = await env.client.start_workflow(
            CampaignRunWorkflow.run, input, id=input.root_run_id, task_queue=task_queue
        )
        # The run lives until its last zone's slot (Tokyo's, 23 hours on): the clock moves
        # there through every slot, then the result is read without skipping time, since
        # auto-skipping would jump to the run's timeout, past the next fire (conftest.py).
        await env.sleep(timedelta(hours=23, minutes=30))
        with env.auto_time_skipping_disabled():
            results[input.root_run_id] = await handle.result()
    return results


def expected_local_day(born: date, year: int) -> date:
    if (born.month, born.day) == (2, 29) and not _leap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def sent_by(session_factory, runs: dict[str, CampaignRunResult]) -> dict[str, datetime]:
    """Customer id -> send time of every message the given runs recorded (all must be sent)."""
    query = sa.select(Message.idempotency_key, Message.customer_id, Message.sent_at, Message.status)
    with session_factory() as session:
        rows = [row for row in session.execute(query) if row[0].split("|")[0] in runs]
    assert {status for *_, status in rows} <= {"sent"}
    sent = {cid: at for _, cid, at, _ in rows}
    assert len(sent) == len(rows)  # one message per customer across the runs
    return sent


def served_date(home_day: date, tz: ZoneInfo) -> date:
    """The local date the run of `home_day` serves in `tz`: that of the first 09:00 there at
    or after the run fires (an independent reading of dsl.local_time for these zones)."""
    fire = datetime.combine(home_day, FIRE_AT, SHANGHAI)
    local = fire.astimezone(tz)
    return local.date() if local.time() <= FIRE_AT else local.date() + timedelta(days=1)


def check_greetings(sent: dict[str, datetime], window: tuple[date, date]) -> None:
    """Every consenting customer whose birthday falls in the local dates the runs of `window`
    (home dates) serve is greeted once, correctly; nobody else is."""
    population = 366 * PER_DAY + 8  # 8 customers without a birthday
    for index in range(population):
        cid, born = customer_id(index), birthday(index)
        tz = ZoneInfo(zone(index))
        first, last = served_date(window[0], tz), served_date(window[1], tz)
        due = None
        if born is not None and consents(index):
            for year in {first.year, last.year}:
                day = expected_local_day(born, year)
                if first <= day <= last:
                    due = day
        if due is None:
            assert cid not in sent, cid
            continue
        local = sent[cid].astimezone(tz)
        assert local.date() == due, (cid, local, born)
        assert time(8, 30) <= local.time() < time(21, 0), (cid, local)  # never in quiet hours
        on_time = local - datetime.combine(due, FIRE_AT, tz)
        assert timedelta(0) <= on_time < timedelta(minutes=2), (cid, local)


@pytest.mark.slow
async def test_a_year_of_birthday_greetings(
    temporal_env, task_queue, session_factory, deliverer, gateway
):
    env = temporal_env  # the test's own server: it moves the clock two years ahead
    seed_customers(
        session_factory, 366 * PER_DAY + 8, birthday=birthday, timezone=zone, sms_consent=consents
    )
    start = (await env.get_current_time()).astimezone(SHANGHAI).date() + timedelta(days=1)
    leap = next(y for y in range(start.year + 1, start.year + 6) if _leap(y))
    async with campaign_worker(env.client, task_queue, session_factory, deliverer):
        year = await fire_daily(env, task_queue, start, 365)
        # Then a leap year's end of February: 29 February has its own day.
        leap_runs = await fire_daily(env, task_queue, date(leap, 2, 27), 3)
    year_sent = sent_by(session_factory, year)
    check_greetings(year_sent, (start, start + timedelta(days=364)))
    leap_sent = sent_by(session_factory, leap_runs)
    check_greetings(leap_sent, (date(leap, 2, 27), date(leap, 2, 29)))
    # Exactly once at the gateway: one message per key, never a duplicate delivery.
    assert gateway.duplicates == 0
    assert len(gateway.received) == len(year_sent) + len(leap_sent)
    assert max(Counter(m["id"] for m in gateway.received).values()) == 1
    assert sum(r.counts.get("sent", 0) for r in year.values()) == len(year_sent)
    assert {r.status for r in year.values()} == {"completed"}
