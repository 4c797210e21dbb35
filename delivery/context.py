"""The render context of one customer's message: only the variables templates/README.md lists.

No other personal data reaches a template: the phone number only masked, no balances, no ids.
For a customer who opted out of personalisation (PIPL art. 24) the personal attributes are
None, so `{% if customer.name %}` renders the general text and a bare `{{ customer.name }}` is
a render error (the deliverer then suppresses the send: `personalisation_opt_out_unrenderable`)
instead of a personalised message.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from delivery.templates import DEFAULT_LOCALE
from services.customers import mask_phone

# The customer's form of address, from a `gender` attribute the bank's core system may supply.
TITLES = {
    "zh_CN": {"male": "先生", "female": "女士"},
    "en": {"male": "Mr", "female": "Ms"},
}
_GENDER = {"m": "male", "male": "male", "男": "male",
           "f": "female", "female": "female", "女": "female"}  # fmt: skip
PERSONAL = ("name", "title", "tier", "masked_phone")  # withheld on personalisation opt-out


class ContextBuilder:
    """Builds render contexts; bank details and the unsubscribe secret come from settings."""

    def __init__(self, *, bank_name: dict[str, str], bank_hotline: str,
                 unsubscribe_base_url: str, unsubscribe_secret: str,
                 branch_names: dict[str, str] | None = None) -> None:  # fmt: skip
        self.bank_name, self.bank_hotline = bank_name, bank_hotline
        self.unsubscribe_base_url = unsubscribe_base_url.rstrip("/")
        self._secret = unsubscribe_secret.encode("utf-8")
        self.branch_names = branch_names or {}

    @classmethod
    def from_settings(cls, delivery: Any) -> ContextBuilder:
        return cls(
            bank_name=delivery.bank_name,
            bank_hotline=delivery.bank_hotline,
            unsubscribe_base_url=delivery.unsubscribe_base_url,
            unsubscribe_secret=delivery.unsubscribe_secret.get_secret_value(),
        )

    def bank(self, locale: str) -> dict[str, str]:
        name = self.bank_name.get(locale) or self.bank_name.get(DEFAULT_LOCALE) or ""
        return {"name": name, "hotline": self.bank_hotline}

    def unsubscribe_url(self, customer_id: str) -> str:
        """A one-click link; its HMAC token means no one can forge the link for another customer."""
        token = hmac.new(self._secret, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{self.unsubscribe_base_url}/{customer_id}.{token[:32]}"

    def customer(self, row: Any, locale: str, *, personalised: bool) -> dict[str, Any]:
        """The `customer` variable for `row` (a customer row with the delivery columns)."""
        attributes = row.attributes or {}
        gender = _GENDER.get(str(attributes.get("gender", "")).strip().lower())
        titles = TITLES.get(locale, TITLES[DEFAULT_LOCALE])
        view = {
            "name": row.name,
            "title": titles.get(gender, "") if gender else "",
            "tier": row.tier,
            "relationship_manager": row.relationship_manager or "",
            "branch_name": self.branch_names.get(row.branch or "", row.branch or ""),
            "masked_phone": mask_phone(row.phone) if row.phone else "",
        }
        if not personalised:
            view.update(dict.fromkeys(PERSONAL))
        return view

    def build(self, row: Any, locale: str, *, channel: str, personalised: bool,
              campaign: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        """The whole context for one message."""
        context = {
            "customer": self.customer(row, locale, personalised=personalised),
            "bank": self.bank(locale),
            "campaign": campaign,
            **extra,
        }
        if channel == "email":
            context["unsubscribe_url"] = self.unsubscribe_url(row.id)
        return context
