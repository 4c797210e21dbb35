"""Calendar routes without Temporal: importing a file of holidays and make-up workdays (CSV or
JSON) and setting the weekly pattern, each audited and open to operations (admin) alone.

A file replaces every year it names, in one transaction: a bad file is a 422 problem naming the
entry at fault and stores nothing. Invalid weekly hours are a 422 and leave the pattern as it
was. Running tickets follow an edit through a background task (tests/api/test_tickets.py); here
Temporal is off, so that task only logs.
"""

from __future__ import annotations

import pytest
from api_samples import USERS

from store.user import Role

BASE = "/v1/calendars/CN"
CSV = """date,kind,name
# 2031 as announced
2031-10-01,holiday,国庆节
2031-10-02,holiday,国庆节
2031-09-28,workday,
2032-01-01,holiday,元旦
"""
# 2026 is a year the package ships (33 days off, 6 make-up days): the file's table replaces it.
JSON = '{"holidays": ["2026-10-01", {"date": "2026-10-02", "name": "国庆节"}], "workdays": []}'
NOT_ADMIN = [name for name, role in USERS.items() if role != Role.ADMIN]


def _audited(client, auth, action: str) -> list[dict]:
    response = client.get("/v1/audit", params={"action": action}, headers=auth("cora"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _year(client, auth, year: int, who: str = "sam") -> dict:
    response = client.get(f"{BASE}/years/{year}", headers=auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_file_replaces_the_years_it_names_and_is_audited(client, auth) -> None:
    imported = client.post(f"{BASE}/import", json={"content": CSV}, headers=auth("ada"))
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"calendar": "CN", "years": [2031, 2032]}
    year = _year(client, auth, 2031)
    assert year["source"] == "database"
    assert year["holidays"] == [
        {"date": "2031-10-01", "name": "国庆节"},
        {"date": "2031-10-02", "name": "国庆节"},
    ]
    assert year["workdays"] == [{"date": "2031-09-28", "name": None}]
    # Importing 2031 again replaces it whole and leaves 2032 as it was.
    again = client.post(
        f"{BASE}/import", json={"content": "2031-10-03,holiday\n"}, headers=auth("ada")
    )
    assert again.json()["years"] == [2031]
    year = _year(client, auth, 2031)
    assert (year["holidays"], year["workdays"]) == ([{"date": "2031-10-03", "name": None}], [])
    assert _year(client, auth, 2032)["holidays"] == [{"date": "2032-01-01", "name": "元旦"}]
    listed = client.get("/v1/calendars", headers=auth("sal")).json()
    cn = next(c for c in listed if c["name"] == "CN")
    assert {"year": 2031, "source": "database"} in cn["years"]

    assert _year(client, auth, 2026)["source"] == "package"
    as_json = client.post(f"{BASE}/import", json={"content": JSON}, headers=auth("ada"))
    assert as_json.status_code == 200 and as_json.json()["years"] == [2026]
    replaced = _year(client, auth, 2026)
    assert (replaced["source"], replaced["workdays"]) == ("database", [])
    assert replaced["holidays"] == [
        {"date": "2026-10-01", "name": None},
        {"date": "2026-10-02", "name": "国庆节"},
    ]
    entries = _audited(client, auth, "calendar.year_set")
    assert [(e["actor"], e["subject_id"], e["detail"]) for e in entries] == [
        ("ada", "CN/2031", {"source": "file", "holidays": 2, "workdays": 1}),
        ("ada", "CN/2032", {"source": "file", "holidays": 1, "workdays": 0}),
        ("ada", "CN/2031", {"source": "file", "holidays": 1, "workdays": 0}),
        ("ada", "CN/2026", {"source": "file", "holidays": 2, "workdays": 0}),
    ]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("2031-10-01,holiday,x\n2031-10-08,party,x\n", ["2031-10-08", "party"]),
        ("2031-10-01,holiday\n2031-13-01,holiday\n", ["2031-13-01"]),
        ('{"holidays": ["2031-10-01", "1 Oct 2031"]}', ["1 Oct 2031"]),
        ('{"holidays": ["2031-10-01"', ["line 1 column"]),
        # The first year is fine; the second is not, and neither is stored.
        ("2031-10-01,holiday\n2032-10-01,holiday\n2032-10-01,workday\n", ["both"]),
    ],
)
def test_a_bad_file_is_a_problem_naming_the_entry_and_stores_nothing(
    client, auth, content: str, named: list[str]
) -> None:
    response = client.post(f"{BASE}/import", json={"content": content}, headers=auth("ada"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert all(part in response.json()["detail"] for part in named), response.json()
    assert _year(client, auth, 2031)["source"] != "database"
    assert _audited(client, auth, "calendar.year_set") == []


def test_a_csv_line_without_its_kind_is_named(client, auth) -> None:
    content = "date,kind,name\n2031-10-01,holiday,x\n2031-10-02\n"
    response = client.post(f"{BASE}/import", json={"content": content}, headers=auth("ada"))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "2031-10-02" in detail or "line 3" in detail, detail


def test_the_weekly_pattern_is_set_and_audited(client, auth) -> None:
    assert client.get(f"{BASE}/week", headers=auth("sal")).json()["days"]["sat"] is None
    pattern = {"sat": ["09:00", "12:00"], "sun": None, "mon": "open"}
    put = client.put(f"{BASE}/week", json=pattern, headers=auth("ada"))
    assert put.status_code == 200, put.text
    days = put.json()["days"]
    assert days == {**dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "open"), **pattern}
    for bad in (
        {"sat": ["12:00", "09:00"]},  # closes before it opens
        {"sat": ["09:00", "24:30"]},
        {"sat": ["9am", "noon"]},
        {"sat": "mornings"},
        {"funday": None},
    ):
        refused = client.put(f"{BASE}/week", json=bad, headers=auth("ada"))
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert client.put("/v1/calendars/XX/week", json={}, headers=auth("ada")).status_code == 422
    assert client.get(f"{BASE}/week", headers=auth("cora")).json()["days"] == days
    entries = _audited(client, auth, "calendar.week_set")
    assert [(e["actor"], e["subject_id"], e["detail"]) for e in entries] == [
        ("ada", "CN", {"days": pattern})
    ]


def test_only_operations_edit_calendars(client, auth) -> None:
    for who in NOT_ADMIN:
        imported = client.post(f"{BASE}/import", json={"content": CSV}, headers=auth(who))
        week = client.put(f"{BASE}/week", json={"sat": ["09:00", "12:00"]}, headers=auth(who))
        assert (who, imported.status_code, week.status_code) == (who, 403, 403)
        # Everyone reads.
        assert client.get(f"{BASE}/week", headers=auth(who)).json()["days"]["sat"] is None
        assert _year(client, auth, 2031, who)["source"] != "database"
    assert _audited(client, auth, "calendar.year_set") == []
    assert _audited(client, auth, "calendar.week_set") == []
