"""Sample rules, steps and customer rows shared by the delivery tests (a module with a unique
name, not the conftest, so test modules can import it whichever conftest pytest loaded first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from dsl.plan import PolicySpec, SendStep
from runtime.contracts import RuleRef

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-gateway-token"
# 10:00 in Shanghai: outside every shipped quiet window.
NOON = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
RULE = RuleRef(ruleset="retail", version=3, plan_hash="ab" * 32, rule="promo")
SERVICE_RULE = RuleRef(ruleset="svc", version=1, plan_hash="cd" * 32, rule="notice",
                       category="service")  # fmt: skip
SMS = SendStep(step="a1", channel="sms", template="birthday_sms")
MARKETING = PolicySpec(name="marketing", quiet_start="21:00", quiet_end="08:30",
                       requires=["consent.marketing"])  # fmt: skip


def customer_row(cid: str, **overrides: Any) -> dict[str, Any]:
    """A customer row with sensible defaults (Shanghai, zh_CN, a phone and an email)."""
    row = {
        "id": cid, "name": "张三", "kind": "retail", "status": "active", "tier": "affluent",
        "level": 2, "locale": "zh_CN", "timezone": "Asia/Shanghai", "total_assets": Decimal(1),
        "balance": Decimal(1), "credit_limit": Decimal(0), "balance_growth_90d": 0.0,
        "phone": f"138{int(cid[-8:]) if cid[-8:].isdigit() else 0:08d}",
        "email": f"{cid.lower()}@mail.example", "attributes": {"gender": "male"},
    }  # fmt: skip
    row.update(overrides)
    return row


def consent_rows(
    cid: str, *pairs: tuple[str, str], granted: bool = True,
    expires_at: datetime | None = None, source: str = "branch",
) -> list[dict]:  # fmt: skip
    return [
        {"customer_id": cid, "channel": ch, "purpose": purpose, "granted": granted,
         "source": source, "granted_at": NOON - timedelta(days=30), "expires_at": expires_at}
        for ch, purpose in pairs
    ]  # fmt: skip


MARKETING_CONSENT = (("sms", "marketing"), ("all", "marketing"))
