"""Request and response bodies of the control API.

Every input model forbids unknown fields (`extra="forbid"`): there is no mass assignment, so a
client can never set a version's status, author, approver or hash by adding keys to a body;
those come only from the registry service. Strings refuse NUL characters, which PostgreSQL
cannot store, so such input is a 422 rather than a database error. Output models mirror the
stored rows and are what the OpenAPI schema (and the schemathesis tests) check responses against.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValidateRequest(Input):
    source: Text
    # Only names the file in diagnostics (`<name>.rules:line:col`).
    name: Annotated[Text, Field(max_length=100)] = "input"


class VersionCreate(Input):
    source: Text


class ReviewDecision(Input):
    comment: Annotated[Text, Field(max_length=4000)] | None = None


class Diagnostic(BaseModel):
    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    severity: str
    code: str
    message: str
    hint: str | None = None


class ValidateResult(BaseModel):
    ok: bool
    plan_hash: str | None
    diagnostics: list[Diagnostic]


class Version(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    status: str
    plan_hash: str | None
    author: str
    approver: str | None
    review_comment: str | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    activated_at: datetime | None


class VersionDetail(Version):
    source: str
    plan: dict[str, Any] | None


class RulesetSummary(BaseModel):
    name: str
    created_at: datetime
    versions: int
    latest_version: int | None
    active_version: int | None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    # Pass back as `offset` (lists) or `after` (audit) for the next page; null at the end.
    next: int | None


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    ruleset: str | None
    ruleset_version: int | None
    rule: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int = Field(description="The last entry checked: keep it with `head_hash` as "
                                      "the next call's anchor.")  # fmt: skip
    head_hash: str


class Problem(BaseModel):
    """RFC 9457 problem details; extension members (e.g. `diagnostics`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None


class Health(BaseModel):
    status: str
