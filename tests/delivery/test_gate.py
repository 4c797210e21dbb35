"""The contact gate in isolation: quiet hours in the customer's zone, consent, caps, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.gate import Cap, ConsentRow, ContactGate, Facts, caps_for, quiet_until, zone
from dsl.local_time import LocalRun
from dsl.plan import CapSpec, DurationSpec, PolicySpec
from store.outbox import Decision

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 08:00 Urumqi
GRANTED = ConsentRow(True, None, "branch")
WITHDRAWN = ConsentRow(False, None, "inbound_sms")
EXPIRED = ConsentRow(True, NOW - timedelta(days=1), "branch")
POLICY = PolicySpec(name="mkt", quiet_start="21:00", quiet_end="08:30",
                    requires=["consent.marketing"])  # fmt: skip


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "tz", "start", "end", "expected"),
    [
        ("2026-06-01T22:00+08:00", "Asia/Shanghai", "21:00", "08:30", "2026-06-02T08:30+08:00"),
        ("2026-06-02T01:00+08:00", "Asia/Shanghai", "21:00", "08:30", "2026-06-02T08:30+08:00"),
        ("2026-06-02T08:30+08:00", "Asia/Shanghai", "21:00", "08:30", None),
        ("2026-06-01T20:59+08:00", "Asia/Shanghai", "21:00", "08:30", None),
        ("2026-06-01T21:00+08:00", "Asia/Shanghai", "21:00", "08:30", "2026-06-02T08:30+08:00"),
        # 10:00 in Shanghai is 08:00 in Urumqi: still quiet there.
        ("2026-06-01T10:00+08:00", "Asia/Urumqi", "21:00", "08:30", "2026-06-01T08:30+06:00"),
        ("2026-06-01T13:00+08:00", "Asia/Shanghai", "12:00", "14:00", "2026-06-01T14:00+08:00"),
        ("2026-06-01T15:00+08:00", "Asia/Shanghai", "12:00", "14:00", None),
        ("2026-06-01T15:00+08:00", "Asia/Shanghai", "09:00", "09:00", None),
        # New York springs forward at 02:00 on 8 March 2026; the window still opens at 08:30 EDT.
        ("2026-03-08T01:00-05:00", "America/New_York", "21:00", "08:30", "2026-03-08T08:30-04:00"),
        ("2026-06-01T22:00+08:00", "Not/AZone", "21:00", "08:30", "2026-06-02T08:30+08:00"),
    ],
)
def test_quiet_until(now, tz, start, end, expected):
    result = quiet_until(utc(now), tz, start, end)
    assert result == (utc(expected) if expected else None)


clock = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


@given(
    now=st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1), timezones=st.just(UTC)),
    tz=st.sampled_from(["Asia/Shanghai", "Asia/Urumqi", "America/New_York", "Europe/London"]),
    start=clock,
    end=clock,
)
def test_a_deferred_send_lands_outside_the_window_within_a_day(now, tz, start, end):
    due = quiet_until(now, tz, start, end)
    if due is None:
        return
    assert now < due <= now + timedelta(hours=25)  # 25: a DST day may be longer
    assert due.astimezone(zone(tz)).strftime("%H:%M") in (end, _shifted(end))
    assert quiet_until(due, tz, start, end) is None


def _shifted(end: str) -> str:  # an opening inside a DST gap lands an hour later
    hours, minutes = map(int, end.split(":"))
    return f"{(hours + 1) % 24:02d}:{minutes:02d}"


def gate(category="marketing", policy=POLICY, caps=(), channel="sms") -> ContactGate:
    return ContactGate(channel=channel, category=category, policy=policy, caps=list(caps),
                       now=NOW)  # fmt: skip


def facts(**overrides) -> Facts:
    base = {"customer_id": "C1", "address": "13800000001",
            "consents": {("sms", "marketing"): GRANTED, ("all", "marketing"): GRANTED}}  # fmt: skip
    base.update(overrides)
    return Facts(**base)


@pytest.mark.parametrize(
    ("consents", "reason"),
    [
        ({("sms", "marketing"): GRANTED, ("all", "marketing"): GRANTED}, None),
        ({("sms", "marketing"): GRANTED}, "requires_consent"),
        ({("all", "marketing"): GRANTED}, None),  # `all` covers the channel
        ({("email", "marketing"): GRANTED, ("all", "marketing"): WITHDRAWN}, "opted_out"),
        ({("sms", "marketing"): GRANTED, ("all", "marketing"): WITHDRAWN}, "opted_out"),
        ({("sms", "marketing"): WITHDRAWN, ("all", "marketing"): GRANTED}, "opted_out"),
        ({("sms", "marketing"): EXPIRED}, "consent_expired"),
        ({("sms", "service"): GRANTED}, "no_consent"),
        ({}, "no_consent"),
    ],
)
def test_marketing_consent(consents, reason):
    verdict = gate(policy=POLICY.model_copy(update={"quiet_start": None})).decide(
        facts(consents=consents)
    )
    assert verdict.reason == reason
    assert verdict.decision is (Decision.SENT if reason is None else Decision.SUPPRESSED)


def test_service_sends_need_no_marketing_consent_and_ignore_dnd():
    verdict = gate("service", policy=None).decide(facts(consents={}, do_not_disturb=True))
    assert verdict.decision is Decision.SENT


def test_checks_run_in_order():
    g = gate(caps=[Cap("policy", 1, 86400, "mkt: 1 per 1 day")])
    assert g.decide(Facts("C1", exists=False)).reason == "customer_not_found"
    assert g.decide(facts(address=None, do_not_disturb=True)).reason == "no_address"
    assert g.decide(facts(do_not_disturb=True, consents={})).reason == "do_not_disturb"
    assert g.decide(facts(consents={}, cap_counts=[5])).reason == "no_consent"
    capped = g.decide(facts(cap_counts=[1]))
    assert (capped.reason, capped.detail) == ("frequency_cap", "mkt: 1 per 1 day (has 1)")
    assert g.decide(facts(cap_counts=[0], timezone="Asia/Urumqi")).reason == "quiet_hours"
    assert g.decide(facts(cap_counts=[0])).decision is Decision.SENT


def test_a_local_time_send_waits_for_nine_on_the_customers_clock():
    # The run of 1 June fired at 09:00 Shanghai; NOW is 10:00 Shanghai.
    local = LocalRun.of(NOW - timedelta(hours=1), "09:00", "Asia/Shanghai")
    g = ContactGate(channel="sms", category="marketing", policy=POLICY, caps=[], now=NOW,
                    local=local)  # fmt: skip
    assert g.decide(facts()).decision is Decision.SENT  # Shanghai's 09:00 has come
    waiting = g.decide(facts(timezone="America/New_York"))
    assert (waiting.decision, waiting.reason) == (Decision.DEFERRED, "local_time")
    assert waiting.due_at == utc("2026-06-01T09:00-04:00")
    assert waiting.detail == "09:00 America/New_York"
    # Suppressions are decided at once, not after the wait.
    refused = g.decide(facts(timezone="America/New_York", consents={}))
    assert refused.reason == "no_consent"


def test_a_local_time_send_keeps_its_slot_and_is_dropped_once_the_day_is_over():
    local = LocalRun.of(NOW - timedelta(hours=1), "09:00", "Asia/Shanghai")  # 1 June's run

    def gate_at(now):
        return ContactGate(channel="sms", category="marketing", policy=POLICY, caps=[], now=now,
                           local=local)  # fmt: skip

    # Chosen at Urumqi's 09:00, moved to Tokyo since: the due row goes out at the slot it was
    # given, not deferred again to Tokyo's 09:00 of the next day.
    due = local.slot("Asia/Urumqi")
    assert gate_at(due).decide(facts(timezone="Asia/Tokyo")).reason == "local_time"
    moved = facts(timezone="Asia/Tokyo", waited=True)
    assert gate_at(due).decide(moved).decision is Decision.SENT
    # Past the customer's local date (a run paused overnight): too late for a birthday.
    late = gate_at(utc("2026-06-02T00:30-04:00")).decide(facts(timezone="America/New_York"))
    assert (late.decision, late.reason) == (Decision.SUPPRESSED, "local_date_passed")
    assert late.detail == "2026-06-01 America/New_York"


def test_a_local_time_send_reads_an_unknown_zone_as_the_campaigns_for_quiet_hours_too():
    # A London campaign at 15:00: a customer whose zone is not a known name is served as a
    # London customer, so 15:00 London is not quiet (it is 23:00 in the bank's fallback zone).
    fire = utc("2026-06-01T15:00+01:00")
    local = LocalRun.of(fire, "15:00", "Europe/London")
    g = ContactGate(channel="sms", category="marketing", policy=POLICY, caps=[], now=fire,
                    local=local)  # fmt: skip
    assert g.decide(facts(timezone="Asia/Tokio")).decision is Decision.SENT


def test_caps_for_exempts_service_sends_from_marketing_policies():
    week = CapSpec(count=3, unit="messages", per="customer",
                   window=DurationSpec(amount=7, unit="day"))  # fmt: skip
    year = CapSpec(count=1, unit="messages", per="customer",
                   window=DurationSpec(amount=1, unit="year"))  # fmt: skip
    marketing = POLICY.model_copy(update={"caps": [week]})
    assert [c.scope for c in caps_for("marketing", marketing, [year])] == ["policy", "rule"]
    assert [c.scope for c in caps_for("service", marketing, [year])] == ["rule"]
    service = marketing.model_copy(update={"category": "service"})
    assert [c.seconds for c in caps_for("service", service, [])] == [7 * 86400]
    assert caps_for("marketing", None, [year])[0].seconds >= 366 * 86400
    business = CapSpec(count=1, unit="messages", per="customer",
                       window=DurationSpec(amount=5, unit="day", business=True))  # fmt: skip
    assert caps_for("marketing", None, [business])[0].seconds >= 7 * 86400
