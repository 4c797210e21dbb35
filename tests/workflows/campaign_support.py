"""What the campaign tests share: the test rule file compiled to a real plan, run inputs, and a
worker composed the way the production worker composes it (until runtime/worker.py exists).

The rules are compiled by `dsl.compile_source`, so the tests run the plan fragments the product
runs. `campaign_worker` registers `CampaignRunWorkflow` and the campaign activities (sync, in a
thread pool) with a real `Deliverer` sending to a recording gateway. The birthday rule has no
`at_most once per customer per 365 days`: the shipped rule's cap would suppress, in a leap year,
the greeting of anyone greeted exactly 365 days before (28 February 2027 -> 2028), depending on
milliseconds; exactly-once here comes from the outbox keys, not from a cap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import dsl
from activities.campaign import CampaignActivities
from delivery.deliverer import Deliverer
from dsl.plan import CampaignSpec
from dsl.plan_ops import Plan
from runtime.contracts import CampaignRunInput, RuleRef, campaign_run_id
from workflows.campaign_run import CampaignRunWorkflow

REPO = Path(__file__).resolve().parents[2]
RULES = """\
ruleset campaign_test
  timezone "Asia/Shanghai"

policy marketing
  quiet_hours 21:00 to 08:30
  requires consent.sms

campaign birthday_greeting
  audience customers where consent.sms
  schedule on customer.birthday at 09:00
  policy marketing
  send sms "birthday_sms"

campaign announcement
  audience customers
  policy marketing
  send sms "birthday_sms"

campaign callback
  audience customers
  reentry after 90 days
  task callback to customer.relationship_manager due in 3 business days
"""


@cache
def plan() -> Plan:
    """The test rule file, compiled and sealed."""
    return dsl.compile_source(RULES, "campaign_test.rules").plan


def campaign(name: str) -> CampaignSpec:
    return next(c for c in plan().campaigns if c.name == name)


def run_input(name: str, run_key: str, **overrides: Any) -> CampaignRunInput:
    """The input a schedule or the API gives one run of campaign `name`."""
    spec = campaign(name)
    rule = RuleRef(ruleset=plan().ruleset, version=1, plan_hash=plan().hash, rule=name)
    fields = {
        "rule": rule,
        "campaign": spec,
        "root_run_id": campaign_run_id(plan().ruleset, name, run_key),
        "timezone": plan().timezone,
        **overrides,
    }
    return CampaignRunInput(**fields)


def campaign_worker(
    client: Client,
    task_queue: str,
    factory: sessionmaker[Session],
    deliverer: Deliverer,
    *,
    threads: int = 4,
) -> Worker:
    """A worker running campaign runs and their activities (use as `async with`)."""
    activities = CampaignActivities(factory, deliverer)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CampaignRunWorkflow],
        activities=activities.activities(),
        activity_executor=ThreadPoolExecutor(threads),
        max_concurrent_activities=threads,
    )
