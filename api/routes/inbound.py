"""`POST /v1/inbound/sms`: replies relayed by the SMS gateway; "TD", "退订", "STOP" opt out.

The gateway integration calls this with an admin API key for every reply it receives. An
opt-out withdraws marketing consent for every customer with the sender's number (audited),
and the contact gate then suppresses every later marketing send to them, in every running
campaign. Any other reply is acknowledged and dropped. The number and text are not logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.permissions import allow
from api.schemas import Text
from delivery.inbound import record_inbound
from services.actor import Actor
from services.customers import UtcInstant
from store.base import utcnow

router = APIRouter(tags=["inbound"])
Gateway = Annotated[Actor, allow("inbound.receive")]


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: Annotated[Text, Field(alias="from", min_length=3, max_length=32)]
    text: Annotated[Text, Field(max_length=1000)]
    received_at: UtcInstant | None = None
    # The gateway's id of the reply: kept as the withdrawal's evidence.
    id: Annotated[Text, Field(max_length=200)] | None = None


class InboundResult(BaseModel):
    opt_out: bool
    customers: int


@router.post("/inbound/sms", response_model=InboundResult)
def inbound_sms(body: InboundSms, session: SessionDep, actor: Gateway) -> Any:
    """Apply an inbound SMS; reports whether it opted out and how many customers it covered."""
    result = record_inbound(
        session, actor, phone=body.sender, text=body.text,
        received_at=body.received_at or utcnow(), reference=body.id,
    )  # fmt: skip
    return InboundResult(opt_out=result.opt_out, customers=result.customers)
