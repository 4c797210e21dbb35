"""Customer routes end to end: bulk upsert (JSON lines and CSV) with per-row reports, masked
reads by role, and audited consent changes; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

BULK = "/v1/customers:bulk"
NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv; charset=utf-8"}
ZHANG = {
    "id": "C0001", "name": "张三丰", "kind": "retail", "tier": "affluent", "level": 3,
    "phone": "13812345678", "email": "zhang@example.cn", "birthday": "1980-02-29",
    "total_assets": "125000.50", "last_transaction_at": "2024-01-02T09:30:00+08:00",
    "attributes": {"land_contract_mu": 12.5}, "holdings": ["mortgage", "credit_card"],
}  # fmt: skip


def lines(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in records)  # fmt: skip


def bulk(client, auth, body: str, headers=NDJSON, user: str = "mia"):
    return client.post(BULK, content=body.encode(), headers={**headers, **auth(user)})


def test_ndjson_import_reports_every_rejected_row(client, auth):
    body = lines(
        ZHANG,
        {"id": "C0002", "name": "李四", "kind": "corporate", "birthday": "not-a-day"},
        "{broken",
        {"id": "C0003", "name": "王五", "kind": "retail", "nickname": "x", "tier": "gold"},
        {"id": "C 4", "name": "赵六", "kind": "retail"},
        {**ZHANG, "name": "张三"},  # the same id twice in one import
        {"id": "C0005", "name": "Amy Chen", "kind": "retail", "locale": "en",
         "timezone": "Mars/Base", "balance": "-1"},
    )  # fmt: skip
    response = bulk(client, auth, body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["accepted"] == 1
    errors = {r["row"]: r["errors"] for r in report["rejected"]}
    assert errors[2] == ["birthday: not a date"]
    assert errors[3] == ["not valid JSON"]
    assert sorted(errors[4]) == ["nickname: unknown field", "tier: Input should be 'mass', "
                                 "'affluent' or 'private'"]  # fmt: skip
    assert errors[5] == ["id: bad format"]
    assert errors[6] == ["id: also on row 1"]
    assert sorted(errors[7]) == ["balance: Input should be greater than or equal to 0",
                                 "timezone: Value error, not an IANA time zone"]  # fmt: skip
    assert "13812345678" not in response.text  # personal data is never echoed


def test_csv_import_and_upsert_keeps_absent_fields(client, auth):
    header = "id,name,kind,tier,phone,holdings,attributes.land_contract_mu,birthday\n"
    first = header + "C0001,张三丰,retail,mass,13812345678,deposit;wealth,30,1980-02-29\n"
    assert bulk(client, auth, first, CSV).json() == {"accepted": 1, "rejected": []}
    # An update that leaves phone and holdings empty keeps them; tier changes.
    second = header + "C0001,张三丰,retail,private,,,31,\nC0002,,retail,mass,,,,\n"
    report = bulk(client, auth, second, CSV).json()
    assert report["accepted"] == 1 and report["rejected"][0]["row"] == 2
    record = client.get("/v1/customers/C0001", headers=auth("sam")).json()
    assert record["tier"] == "private" and record["phone"] == "13812345678"
    assert [h["product"] for h in record["holdings"]] == ["deposit", "wealth"]
    assert record["attributes"] == {"land_contract_mu": 31}
    assert record["birthday"] == "1980-02-29" and record["masked"] is False


def test_gb18030_csv_from_excel(client, auth):
    body = "id,name,kind\nC0009,欧阳娜娜,retail\n".encode("gb18030")
    response = client.post(BULK, content=body, headers={**CSV, **auth("ada")})
    assert response.json() == {"accepted": 1, "rejected": []}
    assert client.get("/v1/customers/C0009", headers=auth("ada")).json()["name"] == "欧阳娜娜"


def test_unsupported_media_type_and_roles(client, auth):
    wrong = client.post(BULK, content=b"{}", headers={"Content-Type": "application/json",
                                                       **auth("mia")})  # fmt: skip
    assert wrong.status_code == 415
    assert wrong.headers["content-type"] == "application/problem+json"
    assert bulk(client, auth, lines(ZHANG), user="cora").status_code == 403
    assert bulk(client, auth, lines(ZHANG), user="sam").status_code == 403


@pytest.mark.parametrize(("user", "masked"), [("mia", True), ("cora", True), ("sam", False),
                                               ("sal", False), ("ada", False)])  # fmt: skip
def test_read_masks_personal_data_by_role(client, auth, user, masked):
    bulk(client, auth, lines(ZHANG))
    record = client.get("/v1/customers/C0001", headers=auth(user)).json()
    client.get("/v1/customers/C0001", headers=auth(user))  # the same reader again that day
    assert record["masked"] is masked
    assert record["total_assets"] == "125000.50"
    if masked:
        assert (record["name"], record["phone"]) == ("张**", "138****5678")
        assert record["email"] == "z***@example.cn" and record["birthday"] is None
    else:
        assert (record["name"], record["phone"]) == ("张三丰", "13812345678")
    # Every read that showed personal data in full is in the audit log, with who read it.
    viewed = client.get(
        "/v1/audit", params={"action": "customer.viewed"}, headers=auth("cora")
    ).json()["items"]
    expected = [] if masked else [(user, "customer", "C0001")]
    assert [(e["actor"], e["subject_type"], e["subject_id"]) for e in viewed] == expected


def test_unknown_customer_is_404(client, auth):
    assert client.get("/v1/customers/C9999", headers=auth("mia")).status_code == 404


def test_consent_is_recorded_and_audited(client, auth):
    bulk(client, auth, lines(ZHANG))
    url = "/v1/customers/C0001/consents/sms/marketing"
    body = {"granted": True, "source": "branch", "evidence": "form-2024-0001"}
    response = client.put(url, json=body, headers=auth("sam"))
    assert response.status_code == 200, response.text
    assert response.json()["granted"] is True
    withdrawn = client.put(url, json={"granted": False, "source": "call_centre"},
                           headers=auth("sal"))  # fmt: skip
    assert withdrawn.json()["granted"] is False
    consents = client.get("/v1/customers/C0001", headers=auth("mia")).json()["consents"]
    assert [(c["channel"], c["purpose"], c["granted"]) for c in consents] == [
        ("sms", "marketing", False)
    ]
    entries = client.get("/v1/audit", params={"action": "consent.withdrawn"},
                         headers=auth("cora")).json()["items"]  # fmt: skip
    assert [(e["actor"], e["subject_id"], e["detail"]["previous"]) for e in entries] == [
        ("sal", "C0001", True)
    ]


def test_consent_errors(client, auth):
    bulk(client, auth, lines(ZHANG))
    body = {"granted": True, "source": "app"}
    unknown = client.put("/v1/customers/C9999/consents/sms/marketing", json=body,
                         headers=auth("sam"))  # fmt: skip
    assert unknown.status_code == 404
    for path in ("fax/marketing", "sms/gossip"):
        bad = client.put(f"/v1/customers/C0001/consents/{path}", json=body, headers=auth("sam"))
        assert bad.status_code == 422 and "unknown consent" in bad.json()["detail"]
    past = {**body, "expires_at": "2000-01-01T00:00:00Z"}
    expired = client.put("/v1/customers/C0001/consents/sms/marketing", json=past,
                         headers=auth("sam"))  # fmt: skip
    assert expired.status_code == 422
    assert client.put("/v1/customers/C0001/consents/sms/marketing", json=body,
                      headers=auth("mia")).status_code == 403  # fmt: skip


def test_malformed_input_is_reported_per_row(client, auth):
    csv_body = (
        "id,name,kind,attributes.village_code,attributes.cooperative_member\n"
        "C0001,张三,retail,0012,true\n"
        "C0002,李四,retail,7,false,extra\n"
        f"C0003,{'x' * 200_000},retail,1,true\n"
    )
    report = bulk(client, auth, csv_body, CSV).json()
    assert report["accepted"] == 1
    assert [(r["row"], r["errors"][0][:20]) for r in report["rejected"]] == [
        (2, "the row has more cel"), (3, "not valid CSV from h")
    ]  # fmt: skip
    attributes = client.get("/v1/customers/C0001", headers=auth("ada")).json()["attributes"]
    assert attributes == {"village_code": "0012", "cooperative_member": True}
    deep = "[" * 100_000 + "]" * 100_000
    report = bulk(client, auth, lines("[1, 2]", deep, {"id": "C0004", "name": "\u0000"})).json()
    assert [r["errors"][0][:24] for r in report["rejected"]] == [
        "not a JSON object", "not valid JSON", "record: Value error, tex"
    ]  # fmt: skip
