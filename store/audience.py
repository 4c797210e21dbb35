"""A campaign's audience as one SQL clause, evaluated as of a run's fire time.

The single place that decides what "today" means for an audience. For most campaigns it is
the date in the campaign's zone at `as_of`. For a local-time campaign (a daily audience that
tests a customer date with `is today`, `dsl.local_time`) each customer's today is their own
local date in this run: the clause is the compiled condition once per group of zones sharing a
date, each bounded to its zones (`customer.timezone`), the home group taking every other name
so no customer is left out. Campaign runs, the audience preview and the version diff all read
the audience through `campaign_clause`, so they count the same customers.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from dsl.local_time import DAY, LocalRun
from dsl.plan import CampaignSpec
from dsl.sqlclause import to_clause
from store.customer import Customer
from store.sql_schema import customer_sql_schema


def campaign_clause(campaign: CampaignSpec, timezone: str, as_of: datetime) -> sa.ColumnElement:
    """The WHERE clause of `campaign`'s audience for the run fired at `as_of` (aware).

    Raises ValueError or ZoneInfoNotFoundError for an audience or zone the SQL cannot express.
    """
    run = LocalRun.of_campaign(campaign, timezone, as_of)
    if run is None:
        today = as_of.astimezone(ZoneInfo(timezone)).date()
        return to_clause(campaign.audience, customer_sql_schema(), now=as_of, today=today)
    groups = run.zone_shifts()
    elsewhere = sorted(name for shift, names in groups.items() if shift != 0 for name in names)
    parts = []
    for shift, names in groups.items():
        if shift == 0:  # the home group: every name not placed elsewhere, unknown ones too
            zones = Customer.timezone.not_in(elsewhere)
        else:
            zones = Customer.timezone.in_(sorted(names))
        today = run.day + shift * DAY
        audience = to_clause(campaign.audience, customer_sql_schema(), now=as_of, today=today)
        parts.append(sa.and_(audience, zones))  # the date test first: it is the selective one
    return sa.or_(*parts)
