"""Calendars as data: year tables in the database override the package's, files import, seeds
copy, weekly patterns and branch time zones validate, every edit is audited; and the snapshot a
ticket's workflow computes with reflects all of it. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from calendars import store, store_week
from dsl.plan_ops import HoursSpec
from services.tickets_match import snapshot
from store.audit import AuditEntry
from store.session import make_engine, make_session_factory, session_scope
from tests.workflows.ticket_support import sla


@pytest.fixture
def session(migrated_url: str) -> Iterator[Session]:
    engine = make_engine(migrated_url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            yield s
    finally:
        engine.dispose()


def test_package_years_until_the_database_holds_one(session: Session) -> None:
    national = store.year_data(session, "CN", 2026)
    assert national.source == "package"
    assert dt.date(2026, 10, 1) in national.holidays and dt.date(2026, 10, 10) in national.workdays
    assert store.year_data(session, "CN", 2099).source is None
    empty = store.YearData()
    store.set_year(session, "CN", 2099, empty, actor="ada")
    assert store.year_data(session, "CN", 2099).source == "database"  # known, with no holiday


def test_a_year_set_through_the_api_replaces_the_package_table(session: Session) -> None:
    mine = store.YearData({dt.date(2026, 10, 1): "国庆节"}, {dt.date(2026, 10, 10): None})
    store.set_year(session, "CN", 2026, mine, actor="ada")
    found = store.year_data(session, "CN", 2026)
    assert (found.source, found.holidays, list(found.workdays)) == (
        "database",
        {dt.date(2026, 10, 1): "国庆节"},
        [dt.date(2026, 10, 10)],
    )
    store.set_year(session, "CN", 2026, store.YearData({dt.date(2026, 10, 2): None}), actor="ada")
    assert list(store.year_data(session, "CN", 2026).holidays) == [dt.date(2026, 10, 2)]
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calendar.year_set"))
    assert [(e.actor, e.subject_id) for e in entries] == [("ada", "CN/2026")] * 2


def test_bad_tables_are_refused(session: Session) -> None:
    with pytest.raises(store.CalendarDataError, match="fall in"):
        store.set_year(session, "CN", 2027, store.YearData({dt.date(2026, 1, 1): None}), actor="a")
    both = store.YearData({dt.date(2027, 1, 1): None}, {dt.date(2027, 1, 1): None})
    with pytest.raises(store.CalendarDataError, match="both"):
        store.set_year(session, "CN", 2027, both, actor="a")
    with pytest.raises(store.CalendarDataError, match="unknown calendar"):
        store.set_year(session, "XX", 2027, store.YearData(), actor="a")


def test_files_import_csv_and_json(session: Session) -> None:
    csv_text = "date,kind,name\n# 2027 as announced\n2027-10-01,holiday,国庆节\n"
    csv_text += "2027-09-26,workday,\n"
    assert store.import_file(session, "CN", csv_text, actor="ada") == [2027]
    assert store.year_data(session, "CN", 2027).workdays == {dt.date(2027, 9, 26): None}
    json_text = '{"holidays": ["2028-01-01", {"date": "2028-10-02", "name": "x"}], "workdays": []}'
    assert store.import_file(session, "CN", json_text, actor="ada") == [2028]
    assert len(store.year_data(session, "CN", 2028).holidays) == 2
    for bad, message in (
        ("2027-10-01,party,x", "kind"),
        ("tomorrow,holiday", "not a date"),
        ('{"holidays": [{"name": 1}]}', "not a calendar file"),
    ):
        with pytest.raises(store.CalendarDataError, match=message):
            store.parse_file(bad)


def test_seed_copies_the_package_years_once(session: Session) -> None:
    store.set_year(session, "CN", 2026, store.YearData(), actor="ada")
    copied = store.seed(session, "CN", actor="ada")
    assert 2026 not in copied and 2025 in copied and len(copied) > 10
    assert store.seed(session, "CN", actor="ada") == []
    assert store.year_data(session, "CN", 2025).source == "database"


def test_weekly_pattern_and_branch_zones(session: Session) -> None:
    assert store_week.week(session, "CN")["sat"] is None
    days = store_week.set_week(session, "CN", {"sat": ["09:00", "12:00"]}, actor="ada")
    assert days["sat"] == ["09:00", "12:00"] and days["mon"] == "open"
    for bad in ({"sat": ["12:00", "09:00"]}, {"sat": "x"}, {"funday": None}, {"sat": 5}):
        with pytest.raises(store.CalendarDataError):
            store_week.set_week(session, "CN", bad, actor="ada")
    store_week.set_branch_timezone(session, "XJ01", "Asia/Urumqi", actor="ada")
    assert store_week.branch_timezone(session, "XJ01") == "Asia/Urumqi"
    assert store_week.branch_timezone(session, "none") is None
    with pytest.raises(store.CalendarDataError):
        store_week.set_branch_timezone(session, "XJ01", "Mars/Olympus", actor="ada")


def test_snapshot_reflects_the_database(session: Session) -> None:
    store.import_file(session, "CN", "2027-01-04,holiday,test\n", actor="ada")
    store_week.set_week(session, "CN", {"sat": ["09:00", "12:00"]}, actor="ada")
    built = snapshot(session, sla(), "Asia/Urumqi", dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    assert built.timezone == "Asia/Urumqi" and built.years == [2025, 2026, 2027]
    assert dt.date(2027, 1, 4) in built.holidays and dt.date(2026, 10, 10) in built.workdays
    assert built.week[5] == ("09:00", "12:00") and built.week[0] == ("09:00", "18:00")
    assert built.week[6] is None
    clock = sla().model_copy(update={"hours": HoursSpec(around_the_clock=True)})
    assert snapshot(session, clock, "UTC", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).week[5] == (
        "00:00",
        "24:00",
    )
