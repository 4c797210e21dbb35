"""Template preview: what a customer would receive, for a sample customer, by role."""

from __future__ import annotations

import pytest

URL = "/v1/templates/{}/preview"


def preview(client, auth, name: str, user: str = "mia", **body):
    return client.post(URL.format(name), json=body, headers=auth(user))


def test_sms_preview_renders_like_a_send(client, auth):
    response = preview(client, auth, "birthday_sms")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["body"].startswith("【示例银行】王小明女士，今天是您的生日")
    assert data["body"].endswith("回复TD退订")
    assert (data["locale"], data["subject"]) == ("zh_CN", None)
    assert data["characters"] == len(data["body"])
    assert data["sms_segments"] == -(-len(data["body"]) // 70)
    assert len(data["version"]) == 16


def test_email_preview_has_a_one_line_subject_and_an_unsubscribe_link(client, auth):
    data = preview(client, auth, "account_anniversary", "cora", channel="email", locale="en").json()
    assert data["subject"] == "Thank you for another year with Example Bank, Ms Alex Wang"
    assert "https://bank.example/unsubscribe/SAMPLE0001." in data["body"]
    assert data["sms_segments"] is None


def test_event_variables_fill_the_context(client, auth):
    event = {"amount": "50,000.00", "type": "deposit.matured"}
    response = preview(client, auth, "deposit_matured_sms", variables={"event": event})
    assert response.status_code == 200, response.text
    assert "本息50,000.00元" in response.json()["body"]


def test_a_template_needing_a_missing_variable_is_a_422(client, auth):
    response = preview(client, auth, "deposit_matured_sms")  # no event given
    assert response.status_code == 422
    assert "does not render" in response.json()["detail"]


def test_non_personalised_preview_shows_what_an_opted_out_customer_gets(client, auth):
    # Shipped templates greet opted-out customers generically (PIPL art. 24).
    response = preview(client, auth, "birthday_sms", personalised=False)
    assert response.status_code == 200, response.text
    body = response.json()["body"]
    assert body.startswith("【示例银行】尊敬的客户，今天是您的生日")
    assert "王小明" not in body


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("no_such_template", {}, 404),
        ("Birthday.SMS", {}, 422),
        ("birthday_sms", {"variables": {"customer": {"name": "x"}}}, 422),
        ("birthday_sms", {"channel": "fax"}, 422),
        ("birthday_sms", {"locale": "fr"}, 422),
    ],
)
def test_bad_requests(client, auth, name, body, status):
    assert preview(client, auth, name, **body).status_code == status


def test_roles(client, auth):
    assert preview(client, auth, "birthday_sms", "ada").status_code == 200
    assert preview(client, auth, "birthday_sms", "sam").status_code == 403
    assert preview(client, auth, "birthday_sms", "sal").status_code == 403
