"""Parser unit tests: every construct of the sketch parses to the expected syntax nodes, and the
layout rules (continuation lines, comments, CRLF, no final newline) hold.

`shape()` drops source spans so expectations stay readable; the span tests at the end check
positions separately.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from lark.exceptions import UnexpectedEOF

from dsl import syntax as s
from dsl.builder_rules import TreeBuilder
from dsl.compiler import compile_source
from dsl.errors import DslError
from dsl.parser import parse
from dsl.syntax_errors import diagnose_unexpected

SKETCH = (Path(__file__).parent / "fixtures" / "sketch.rules").read_text(encoding="utf-8")


def shape(node):
    """A syntax node without spans: names dotted, literals as values, durations as text."""
    if node is None:
        return None
    if isinstance(node, s.Name):
        return node.dotted
    if isinstance(node, s.Literal):
        return node.value
    if isinstance(node, s.Duration):
        return str(node)
    if isinstance(node, s.Binary):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, s.Unary):
        return (node.op, shape(node.arg))
    if isinstance(node, s.InList):
        return (
            "not in" if node.negated else "in",
            shape(node.item),
            [shape(o) for o in node.options],
        )
    if isinstance(node, s.TimeTest):
        return (node.kind, shape(node.subject), shape(node.duration))
    if isinstance(node, s.Call):
        return ("call", node.target.dotted, [shape(arg) for arg in node.args])
    raise TypeError(node)


@pytest.fixture(scope="module")
def sketch() -> s.RulesetFile:
    return parse(SKETCH, "sketch.rules")


def where_of(text: str) -> s.Node:
    """The parsed condition of a one-segment file."""
    return parse(f"ruleset t\n\nsegment x\n  where {text}\n").segments[0].where


# ----- the sketch, construct by construct --------------------------------------------------


def test_header(sketch) -> None:
    header = sketch.header
    assert header.name.value == "retail_engagement"
    assert header.title.value == "零售客户关怀与营销"
    assert header.owner.value == "marketing-ops"
    assert header.timezone.value == "Asia/Shanghai"
    assert header.calendar.value == "CN"
    assert header.description is None


def test_field_declaration(sketch) -> None:
    (decl,) = sketch.fields
    assert decl.path.dotted == "customer.land_contract_mu"
    assert decl.type_name.value == "number"


def test_policy(sketch) -> None:
    (policy,) = sketch.policies
    assert policy.name.value == "marketing"
    assert policy.quiet_hours[:2] == (dt.time(21, 0), dt.time(8, 30))
    (cap,) = policy.caps
    assert (cap.count, cap.unit.value, cap.per.value, str(cap.window)) == (
        3,
        "messages",
        "customer",
        "7 days",
    )
    assert [path.dotted for path in policy.requires] == ["consent.marketing"]


def test_segment_with_continuation_lines(sketch) -> None:
    (segment,) = sketch.segments
    assert segment.name.value == "dormant_high_value"
    assert shape(segment.where) == (
        "and",
        (
            "and",
            ("before_ago", "customer.last_transaction_at", "90 days"),
            (">=", "customer.total_assets", Decimal(50_000)),
        ),
        ("==", "customer.status", "active"),
    )


def test_campaign_with_inline_audience_and_once_cap(sketch) -> None:
    campaign = sketch.campaigns[0]
    assert campaign.name.value == "birthday_greeting"
    assert campaign.audience.segment is None
    assert shape(campaign.audience.where) == (
        "and",
        ("is_today", "customer.birthday", None),
        "consent.sms",
    )
    assert (campaign.schedule.kind, campaign.schedule.at) == ("daily", dt.time(9, 0))
    (send,) = campaign.actions
    assert isinstance(send, s.Send)
    assert (send.channel.value, send.template.value) == ("sms", "birthday_sms")
    (cap,) = campaign.caps
    assert (cap.count, cap.unit.value, cap.per.value, str(cap.window)) == (
        1,
        "messages",
        "customer",
        "365 days",
    )


def test_campaign_with_segment_weekly_schedule_and_task(sketch) -> None:
    campaign = sketch.campaigns[1]
    assert campaign.audience.segment.value == "dormant_high_value"
    assert campaign.audience.where is None
    schedule = campaign.schedule
    assert schedule.kind == "weekly"
    assert [day.value for day in schedule.weekdays] == ["monday"]
    assert schedule.at == dt.time(10, 0)
    (task,) = campaign.actions
    assert isinstance(task, s.Task)
    assert task.kind.value == "callback"
    assert (task.assignee.kind, task.assignee.value) == ("field", "customer.relationship_manager")
    assert str(task.due) == "3 business days"
    assert task.escalate_to.value == "customer.branch.manager"
    assert shape(task.cancel_when) == ("within_ago", "customer.last_transaction_at", "1 day")


def test_journey(sketch) -> None:
    (journey,) = sketch.journeys
    assert journey.trigger.event.dotted == "transfer.completed"
    assert shape(journey.trigger.where) == (">=", "event.amount", Decimal(200_000))
    assert shape(journey.when) == (
        "and",
        (">", "customer.balance_growth_90d", Decimal("0.2")),
        ("not", ("call", "customer.holds", ["mortgage"])),
    )
    wait, send = journey.steps
    assert isinstance(wait, s.Wait) and str(wait.duration) == "1 day"
    assert (send.channel.value, send.template.value) == ("push", "mortgage_preapproval")


def test_sla(sketch) -> None:
    (sla,) = sketch.slas
    assert sla.applies_to.entity.value == "ticket"
    assert shape(sla.applies_to.where) == ("==", "ticket.category", "complaint")
    assert (sla.hours.start, sla.hours.end) == (dt.time(9, 0), dt.time(18, 0))
    targets = {
        t.priority.value: {c.clock.value: str(c.duration) for c in t.clocks} for t in sla.targets
    }
    assert targets == {
        "urgent": {"first_response": "2 hours", "resolution": "1 business day"},
        "normal": {"first_response": "8 business hours", "resolution": "5 business days"},
    }
    (pause,) = sla.conditions
    assert pause.kind == "pause"
    assert shape(pause.expr) == ("==", "ticket.status", "waiting_on_customer")
    ladder = [
        (
            e.trigger,
            e.clock.value,
            e.percent,
            shape(e.after),
            e.action,
            e.recipient.kind,
            e.recipient.value,
        )
        for e in sla.escalations
    ]
    assert ladder == [
        ("at_percent", "first_response", 75.0, None, "notify", "field", "assignee"),
        ("on_breach", "first_response", None, None, "reassign", "role", "team_lead"),
        ("after_breach", "resolution", None, "2 hours", "notify", "role", "branch_manager"),
    ]


def test_lead(sketch) -> None:
    (lead,) = sketch.leads
    assert shape(lead.applies_to.where) == (
        "and",
        ("==", "lead.source", "website"),
        ("==", "lead.kind", "corporate"),
    )
    assign = lead.assign
    assert (assign.strategy.value, assign.team.value, assign.by.dotted) == (
        "round_robin",
        "corporate-rm",
        "lead.region",
    )
    assert str(lead.first_contact.within) == "24 hours"
    otherwise = lead.first_contact.otherwise
    assert (otherwise.kind, otherwise.limit, otherwise.then_pool) == ("reassign_limit", 2, True)
    assert str(lead.follow_up.every) == "7 days"
    assert shape(lead.follow_up.until) == ("in", "lead.status", ["won", "lost"])


# ----- expressions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "customer.level > 1 or customer.level < 5 and consent.sms",
            ("or", (">", "customer.level", 1), ("and", ("<", "customer.level", 5), "consent.sms")),
        ),
        ("not consent.sms and consent.email", ("and", ("not", "consent.sms"), "consent.email")),
        (
            "customer.balance * 4 <= customer.total_assets - customer.balance / 2",
            (
                "<=",
                ("*", "customer.balance", 4),
                ("-", "customer.total_assets", ("/", "customer.balance", 2)),
            ),
        ),
        ("-customer.balance < 0", ("<", ("-", "customer.balance"), 0)),
        ('customer.tier not in ["mass"]', ("not in", "customer.tier", ["mass"])),
        ("customer.opened_on >= 2024-01-01", (">=", "customer.opened_on", dt.date(2024, 1, 1))),
        ("customer.balance_growth_90d > 20%", (">", "customer.balance_growth_90d", Decimal("0.2"))),
        (
            "customer.total_assets >= 1_000_000.50",
            (">=", "customer.total_assets", Decimal("1000000.50")),
        ),
        ('customer.name == "say \\"hi\\""', ("==", "customer.name", 'say "hi"')),
        ("consent.sms == true", ("==", "consent.sms", True)),
        (
            "customer.last_transaction_at within 2 days",
            ("within_ago", "customer.last_transaction_at", "2 days"),
        ),
        (
            "(consent.sms or consent.push) and consent.marketing",
            ("and", ("or", "consent.sms", "consent.push"), "consent.marketing"),
        ),
    ],
)
def test_expressions(text: str, expected) -> None:
    assert shape(where_of(text)) == expected


def test_continuation_lines_with_and_or() -> None:
    where = where_of("consent.sms\n    or consent.push\n    and consent.marketing")
    assert shape(where) == ("or", "consent.sms", ("and", "consent.push", "consent.marketing"))


def test_continuation_after_a_comment_line() -> None:
    where = where_of("consent.sms  # reachable\n    # by app, too\n    or consent.push")
    assert shape(where) == ("or", "consent.sms", "consent.push")


def test_comments_anywhere() -> None:
    text = (
        "# file comment\n"
        "ruleset t   # after the name\n"
        '  title "标题"  # after a string\n'
        "\n"
        "# between blocks\n"
        "campaign c  # after a block name\n"
        "  # first in the block\n"
        "  audience customers where consent.sms  # after a condition\n"
        "# at column 0 inside the block\n"
        "      # deeper than the block\n"
        '  send sms "t"\n'
        "# last line, no newline"
    )
    parsed = parse(text)
    assert parsed.header.title.value == "标题"
    (campaign,) = parsed.campaigns
    assert shape(campaign.audience.where) == "consent.sms"
    assert campaign.actions[0].template.value == "t"


def test_crlf_line_endings_mean_the_same() -> None:
    crlf = SKETCH.replace("\n", "\r\n")
    assert compile_source(crlf).plan.hash == compile_source(SKETCH).plan.hash
    parsed = parse(crlf)
    assert parsed.segments[0].where.span == parse(SKETCH).segments[0].where.span


def test_file_without_trailing_newline() -> None:
    assert compile_source(SKETCH.rstrip("\n")).plan.hash == compile_source(SKETCH).plan.hash


def test_blank_lines_and_trailing_spaces() -> None:
    spaced = SKETCH.replace("\n", "   \n\n")
    assert compile_source(spaced).plan.hash == compile_source(SKETCH).plan.hash


# ----- positions -----------------------------------------------------------------------------


def test_a_line_span_ends_on_its_own_line(sketch) -> None:
    send = sketch.campaigns[0].actions[0]
    assert (send.span.line, send.span.column, send.span.end_line, send.span.end_column) == (
        22,
        3,
        22,
        26,
    )
    assert sketch.campaigns[1].span.end_line == 30  # the block ends at its last line


def test_token_spans_are_one_based(sketch) -> None:
    name = sketch.segments[0].where.left.left.subject
    assert name.span == s.Span(15, 9, 15, 37)


# ----- failures that no rule file can reach ---------------------------------------------------


def test_unexpected_eof_gets_a_diagnostic_at_the_end() -> None:
    text = 'ruleset t\n  title "x"\n# end\n'
    diagnostic = diagnose_unexpected(UnexpectedEOF(["STRING"]), text)
    assert diagnostic.code == "E105"
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 12)
    assert "quoted string" in diagnostic.message


def test_a_builder_bug_surfaces_as_internal_error(monkeypatch) -> None:
    def broken(self, meta, children):
        raise RuntimeError("boom")

    monkeypatch.setattr(TreeBuilder, "campaign", broken)
    with pytest.raises(DslError) as caught:
        parse(SKETCH)
    assert [d.code for d in caught.value.diagnostics] == ["E100"]


def test_syntax_errors_carry_source_and_filename() -> None:
    with pytest.raises(DslError) as caught:
        parse("ruleset t\ncampain x\n", "mine.rules")
    error = caught.value
    assert (error.filename, error.source) == ("mine.rules", "ruleset t\ncampain x\n")
    assert str(error).startswith("mine.rules:2:1: E103 ")
