"""Event ingest end to end: batches stored once per idempotency key, duplicates counted not
refused, malformed events reported by index, role gate; on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from store.event import Event
from store.session import make_engine

URL = "/v1/events"


def event(key: str, type_: str = "transfer.completed", **extra) -> dict:
    payload = {"amount": 250_000, "currency": "CNY"}
    return {"type": type_, "customer_id": "C0001", "occurred_at": "2024-05-01T10:00:00+08:00",
            "idempotency_key": key, "payload": payload, **extra}  # fmt: skip


def stored(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Event.idempotency_key, Event.type).order_by(Event.id))
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def test_batch_with_duplicates_and_rejects(client, auth, api_db_url):
    batch = [
        event("k1"), event("k2", "app.login"), event("k1"),  # k1 again in the same batch
        event("k3", "no.such.type"),
        {**event("k4"), "occurred_at": "2024-05-01T10:00:00"},  # no time zone
        {**event("k5"), "extra": 1},
        {k: v for k, v in event("k6").items() if k != "customer_id"},
    ]  # fmt: skip
    response = client.post(URL, json={"events": batch}, headers=auth("ada"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["accepted"], report["duplicates"]) == (7, 2, 1)
    errors = {r["index"]: r["errors"] for r in report["rejected"]}
    assert list(errors) == [3, 4, 5, 6]
    assert errors[3][0].startswith("type: Value error, unknown event type")
    assert errors[4] == ["occurred_at: needs a time zone offset"]
    assert errors[5] == ["extra: unknown field"]
    assert errors[6] == ["customer_id: required"]
    assert stored(api_db_url) == [("k1", "transfer.completed"), ("k2", "app.login")]


def test_resending_a_batch_stores_nothing_twice(client, auth, api_db_url):
    batch = {"events": [event("a"), event("b")]}
    assert client.post(URL, json=batch, headers=auth("ada")).json()["accepted"] == 2
    again = client.post(URL, json={"events": [event("a"), event("b"), event("c")]},
                        headers=auth("mia")).json()  # fmt: skip
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (1, 2, [])
    assert [key for key, _ in stored(api_db_url)] == ["a", "b", "c"]


def test_envelope_errors_and_roles(client, auth):
    assert client.post(URL, json=[event("x")], headers=auth("ada")).status_code == 422
    too_many = {"events": [event(f"k{i}") for i in range(1001)]}
    assert client.post(URL, json=too_many, headers=auth("ada")).status_code in (413, 422)
    assert client.post(URL, json={"events": []}, headers=auth("ada")).json()["received"] == 0
    for user in ("cora", "sam", "sal"):
        assert client.post(URL, json={"events": []}, headers=auth(user)).status_code == 403
