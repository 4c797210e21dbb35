"""Checker and lowering unit tests where a golden file would hide the point: errors are
collected together, category default policies, personal-date schedules, segment inlining,
step ids, and the ordering rule of a lead's overdue ladder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dsl import expr as ir
from dsl import syntax as s
from dsl.compiler import compile_source
from dsl.errors import DslError, Span
from dsl.exprcheck import ExprChecker, closest_path, describe
from dsl.pyeval import compile_predicate
from dsl.schema import BUILTIN_FIELDS
from dsl.templates_catalog import TemplateCatalog
from dsl.types import Type

HERE = Path(__file__).parent
POLICIES = """ruleset t

policy marketing
  quiet_hours 21:00 to 08:30
  at_most 3 messages per customer per 7 days
  requires consent.marketing

policy service
  category service
  at_most 2 messages per customer per 1 day

policy vip
  at_most 1 messages per customer per 30 days
  requires consent.sms
"""


def codes(source: str) -> list[str]:
    """The error codes a source gets, in report order."""
    with pytest.raises(DslError) as caught:
        compile_source(source, "t.rules")
    return [d.code for d in caught.value.diagnostics]


def campaign(body: str, header: str = "ruleset t\n") -> str:
    return f"{header}\ncampaign c\n" + "".join(f"  {line}\n" for line in body.splitlines())


# ----- errors are collected together -----------------------------------------------------------


def test_every_checker_error_is_reported_in_one_go() -> None:
    source = (HERE / "broken" / "multiple_errors.rules").read_text(encoding="utf-8")
    assert sorted(codes(source)) == sorted(
        ["E201", "E204", "E220", "E210", "E302", "E310", "E303", "E308", "E211", "E309"]
    )


def test_a_dsl_error_summarises_the_rest() -> None:
    source = (HERE / "broken" / "multiple_errors.rules").read_text(encoding="utf-8")
    with pytest.raises(DslError) as caught:
        compile_source(source, "m.rules")
    assert str(caught.value).endswith("... and 9 more")


def test_one_mistake_is_reported_once() -> None:
    # An unknown field makes its comparison unknowable; no second error about its type.
    assert codes(
        campaign('audience customers where customer.total_asset >= "1"\nsend sms "x"')
    ) == ["E210"]


def test_lints_wait_until_the_errors_are_fixed() -> None:
    with pytest.raises(DslError) as caught:
        compile_source(campaign('audience customers where customer.levle > 1\nsend sms "x"'))
    assert caught.value.warnings == []


# ----- default policy by category name ---------------------------------------------------------


def test_a_policy_named_after_the_category_applies_to_rules_naming_none() -> None:
    source = campaign(
        "audience customers where customer.birthday is today\n"
        'schedule daily at 09:00\nsend sms "b"',
        POLICIES,
    )
    result = compile_source(source)
    spec = result.plan.campaigns[0]
    assert spec.category == "marketing"
    assert spec.policy.name == "marketing"
    assert spec.policy.requires == ["consent.marketing"]
    assert result.warnings == []  # consent and cap both come from the default policy


def test_a_service_rule_gets_the_service_policy() -> None:
    source = campaign('audience customers\ncategory service\nsend push "statement"', POLICIES)
    spec = compile_source(source).plan.campaigns[0]
    assert (spec.category, spec.policy.name) == ("service", "service")


def test_a_named_policy_wins_and_lends_its_category() -> None:
    source = campaign('audience customers\npolicy service\nsend push "statement"', POLICIES)
    spec = compile_source(source).plan.campaigns[0]
    assert (spec.category, spec.policy.name) == ("service", "service")
    source = campaign('audience customers\npolicy vip\nsend sms "offer"', POLICIES)
    assert compile_source(source).plan.campaigns[0].policy.name == "vip"


def test_without_a_default_policy_a_marketing_send_warns() -> None:
    source = campaign('audience customers\nsend sms "offer"')
    result = compile_source(source)
    assert result.plan.campaigns[0].policy is None
    assert [w.code for w in result.warnings] == ["W501", "W503"]


# ----- lowering --------------------------------------------------------------------------------


def test_personal_date_schedule_compiles_to_daily_plus_is_today() -> None:
    source = campaign(
        "audience customers where consent.sms\nschedule on customer.birthday at 09:00\n"
        'at_most once per customer per 365 days\nsend sms "birthday_sms"'
    )
    spec = compile_source(source).plan.campaigns[0]
    assert spec.schedule.kind == "daily"
    assert spec.schedule.at == "09:00"
    assert spec.schedule.personal_date == "customer.birthday"
    assert spec.schedule.timezone == "Asia/Shanghai"
    assert isinstance(spec.audience, ir.And)
    is_today = [arg for arg in spec.audience.args if isinstance(arg, ir.IsToday)]
    assert [arg.field.path for arg in is_today] == ["customer.birthday"]
    assert is_today[0].field.type is Type.ANNIVERSARY


@pytest.mark.parametrize(
    ("body", "local"),
    [
        ("audience customers where consent.sms\nschedule on customer.birthday at 09:00", True),
        ("audience customers where customer.birthday is today\nschedule daily at 09:00", True),
        ("audience customers where customer.opened_on is today\n"
         "schedule weekly on monday at 09:00", False),
        ("audience customers where consent.sms\nschedule daily at 09:00", False),
    ],
)  # fmt: skip
def test_a_daily_audience_that_tests_today_runs_on_the_customers_clock(body, local) -> None:
    spec = compile_source(campaign(body + '\nsend sms "birthday_sms"')).plan.campaigns[0]
    assert spec.schedule.local_time is local


def test_segment_is_inlined_into_the_audience() -> None:
    source = (
        "ruleset t\n\nsegment rich\n  where customer.total_assets >= 1_000_000\n"
        '    and customer.status == "active"\n'
        + campaign('audience rich where customer.kind == "retail"\nsend sms "x"', "")
    )
    plan = compile_source(source).plan
    spec = plan.campaigns[0]
    assert spec.segment == "rich"
    paths = [arg.left.path for arg in spec.audience.args]
    # Flattened: the segment's two conditions, then the campaign's own.
    assert paths == ["customer.total_assets", "customer.status", "customer.kind"]
    assert plan.segments["rich"].args == spec.audience.args[:2]


def test_a_bare_segment_audience_is_the_segment_itself() -> None:
    source = "ruleset t\n\nsegment s\n  where consent.sms\n" + campaign(
        'audience s\nsend sms "x"', ""
    )
    spec = compile_source(source).plan.campaigns[0]
    assert spec.audience == ir.BoolField(field=spec.audience.field)
    assert spec.audience.field.path == "consent.sms"


def test_step_ids_follow_positions() -> None:
    source = """ruleset t

campaign c
  audience customers where consent.sms
  send sms "a"
  task call to customer.relationship_manager due in 1 business day
  notify customer.relationship_manager

journey j
  on event account.opened
  send push "welcome"
  if consent.sms
    wait 1 day
    send sms "tip"
  else
    exit
  wait up to 7 days for event app.login
    on timeout
      if consent.email
        send email "guide"
"""
    plan = compile_source(source).plan
    assert [a.step for a in plan.campaigns[0].actions] == ["a1", "a2", "a3"]
    steps = plan.journeys[0].steps
    assert [step.step for step in steps] == ["s1", "s2", "s3"]
    assert [step.step for step in steps[1].then] == ["s2y1", "s2y2"]
    assert [step.step for step in steps[1].otherwise] == ["s2n1"]
    (timeout_if,) = steps[2].on_timeout
    assert timeout_if.step == "s3t1"
    assert [step.step for step in timeout_if.then] == ["s3t1y1"]


# ----- single checks ---------------------------------------------------------------------------

LEAD = """ruleset t

lead l
  applies to lead where lead.source == "web"
  assign round_robin in team "rm"
  first_contact within 1 day
  overdue
"""


@pytest.mark.parametrize(
    ("ladder", "ok"),
    [
        (["1 business day", "3 business days"], True),
        (["3 business days", "1 business day"], False),
        (["2 days", "48 hours"], False),  # the same wait, written two ways
        (["2 days", "49 hours"], True),
        (["5 business days", "1 day"], True),  # business and clock time are not compared
    ],
)
def test_overdue_ladder_must_increase(ladder, ok) -> None:
    source = LEAD + "".join(f"    after {d}: remind lead.owner\n" for d in ladder)
    if ok:
        compile_source(source)
    else:
        assert codes(source) == ["E326"]


def test_durations_stay_within_what_date_arithmetic_holds() -> None:
    # Found by fuzzing: `before 99999999999 days ago` compiled, then overflowed at evaluation.
    longest = "ruleset t\n\nsegment s\n  where customer.last_transaction_at before {} days ago\n"
    plan = compile_source(longest.format(36_600)).plan
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    compile_predicate(plan.segments["s"]).bind(now, now.date())
    assert codes(longest.format(36_601)) == ["E316"]
    lead = LEAD.replace("within 1 day", "within 101 years") + "    after 1 day: remind lead.owner\n"
    assert codes(lead) == ["E316"]


def test_an_unsupported_expression_node_is_reported_not_raised() -> None:
    diagnostics = []
    checker = ExprChecker(BUILTIN_FIELDS, diagnostics)
    odd = s.Ident("what", Span(3, 5))
    checker.condition(odd, ("customer",), "a segment")
    assert [d.code for d in diagnostics] == ["E219"]
    assert diagnostics[0].span == Span(3, 5)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("customer.total_asset", "customer.total_assets"),
        ("custmer.total_assets", "customer.total_assets"),
        ("customer.branch_manager", "customer.branch.manager"),
        ("tier", "customer.tier"),
        ("customer.land_contract_mu", None),  # not close to anything real
    ],
)
def test_did_you_mean_for_paths(written, meant) -> None:
    candidates = [*BUILTIN_FIELDS, "customer.branch.manager"]
    assert closest_path(written, candidates) == meant


def test_types_are_named_in_plain_words() -> None:
    assert describe(Type.STRING) == "text"
    assert describe(Type.BOOL) == "a true/false value"


def test_clean_template_fixture_compiles_without_warnings() -> None:
    catalog = TemplateCatalog.from_directory(HERE / "broken_templates")
    source = (HERE / "fixtures" / "tpl_clean_birthday.rules").read_text(encoding="utf-8")
    assert compile_source(source, "tpl_clean_birthday.rules", catalog).warnings == []


def test_a_policy_named_service_is_the_service_default_and_service_sends_skip_marketing_lints():
    path = Path(__file__).parent / "fixtures" / "service_policy_by_name.rules"
    result = compile_source(path.read_text(encoding="utf-8"), path.name)
    assert result.warnings == []
    (campaign,) = result.plan.campaigns
    assert campaign.category == "service"
    assert campaign.policy is not None and campaign.policy.name == "service"
    assert campaign.policy.category == "service"


def test_within_looks_back_only_so_future_dates_do_not_match():
    source = "ruleset r\n\nsegment recent\n  where customer.last_transaction_at within 7 days\n"
    segment = compile_source(source, "r.rules").plan.segments["recent"]
    now = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    matches = compile_predicate(segment).bind(now, now.date())
    key = "customer.last_transaction_at"
    assert matches({key: now - dt.timedelta(days=3)})
    assert not matches({key: now - dt.timedelta(days=8)})
    assert not matches({key: now + dt.timedelta(days=1)})
