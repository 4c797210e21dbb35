"""The audience clause: a birthday campaign chooses each customer on their own local date."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from dsl.compiler import compile_source
from store.audience import campaign_clause
from store.customer import Customer

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRE = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)  # the run of 1 March, home Asia/Shanghai
CUSTOMERS = {  # id: (zone, birthday)
    "C01": ("Asia/Shanghai", date(1990, 3, 1)),
    "C02": ("Asia/Shanghai", date(1990, 3, 2)),
    "C03": ("America/New_York", date(1985, 3, 1)),
    "C04": ("Asia/Tokyo", date(1980, 3, 1)),  # Tokyo's 1 March 09:00 has passed at the fire
    "C05": ("Asia/Tokyo", date(1980, 3, 2)),
    "C06": ("Pacific/Auckland", date(1975, 3, 2)),
    "C07": ("Mars/Olympus_Mons", date(1970, 3, 1)),  # unknown zone: treated as the home zone
    "C08": ("Europe/London", date(2000, 2, 28)),
}


def spec(schedule: str):
    source = (
        'ruleset t\n  timezone "Asia/Shanghai"\n\ncampaign greet\n'
        "  audience customers where customer.birthday is today\n"
        f'  {schedule}\n  send sms "birthday_sms"\n'
    )
    return compile_source(source).plan.campaigns[0]


def seed(session) -> None:
    for cid, (zone, born) in CUSTOMERS.items():
        session.add(Customer(
            id=cid, name="n", kind="retail", status="active", tier="mass", level=1,
            locale="zh_CN", timezone=zone, birthday=born, total_assets=Decimal(0),
            balance=Decimal(0), credit_limit=Decimal(0), balance_growth_90d=0.0, attributes={},
        ))  # fmt: skip
    session.commit()


def selected(session, campaign) -> list[str]:
    clause = campaign_clause(campaign, "Asia/Shanghai", FIRE)
    return list(session.scalars(sa.select(Customer.id).where(clause).order_by(Customer.id)))


def test_a_daily_birthday_audience_uses_each_customers_local_date(session) -> None:
    seed(session)
    campaign = spec("schedule daily at 09:00")
    assert campaign.schedule.local_time
    assert selected(session, campaign) == ["C01", "C03", "C05", "C06", "C07"]


def test_a_weekly_audience_keeps_the_rulesets_date_for_everyone(session) -> None:
    seed(session)
    campaign = spec("schedule weekly on sunday at 09:00")
    assert not campaign.schedule.local_time
    assert selected(session, campaign) == ["C01", "C03", "C04", "C07"]
