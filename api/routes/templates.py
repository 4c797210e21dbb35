"""Template preview: `POST /v1/templates/{name}/preview` renders a template with sample data.

Marketing ops and compliance see exactly what a customer would receive, rendered by the same
sandboxed renderer the deliverer uses (same caps, same locale fallback, same version hash),
but for an invented sample customer: a preview never shows a real customer's data. Set
`personalised` to false to see what a customer who opted out of personalisation gets; a
template that cannot render for them is a 422 saying so, before any campaign runs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.permissions import allow
from api.problems import responses
from api.schemas import Input
from config.settings import Settings
from delivery.context import ContextBuilder
from delivery.templates import Renderer, RenderError
from services.actor import Actor
from services.errors import InvalidError, NotFoundError

router = APIRouter(tags=["templates"])
Previewer = Annotated[Actor, allow("templates.preview")]
# Only names the loader can resolve inside the templates folder: no dots, no slashes.
Name = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,100}$", description="Template name.")]
SAMPLE = {
    "zh_CN": {"name": "王小明", "branch": "上海分行营业部", "rm": "李经理"},
    "en": {"name": "Alex Wang", "branch": "Shanghai Main Branch", "rm": "Ms Li"},
}
SMS_SEGMENT = 70  # characters of one Chinese SMS billing segment


class PreviewRequest(Input):
    channel: Literal["sms", "email", "push", "notify"] = "sms"
    locale: Literal["zh_CN", "en"] = "zh_CN"
    personalised: bool = True
    # Values for the context a real send would fill (campaign, event, ticket, lead, task).
    variables: Annotated[dict[str, Any], Field(default_factory=dict, max_length=10)]


class Preview(BaseModel):
    name: str
    channel: str
    locale: str
    version: str
    subject: str | None
    body: str
    characters: int
    sms_segments: int | None


def _renderer(request: Request) -> tuple[Renderer, ContextBuilder]:
    state = request.app.state
    if getattr(state, "delivery_renderer", None) is None:
        settings: Settings = state.settings
        state.delivery_renderer = Renderer.from_settings(settings)
        state.delivery_contexts = ContextBuilder.from_settings(settings.delivery)
    return state.delivery_renderer, state.delivery_contexts


@router.post("/{name}/preview", response_model=Preview, responses=responses(404, 422))
def preview(name: Name, body: PreviewRequest, request: Request, _: Previewer) -> Any:
    """Render a template for a sample customer, as the deliverer would."""
    unknown = set(body.variables) - {"campaign", "event", "ticket", "lead", "task"}
    if unknown:
        raise InvalidError(f"variables may not set {', '.join(sorted(unknown))}")
    renderer, contexts = _renderer(request)
    try:
        locale = renderer.resolve_locale(body.channel, name, body.locale)
    except RenderError as exc:
        raise NotFoundError(str(exc)) from None
    sample = SAMPLE[locale]
    row = SimpleNamespace(
        id="SAMPLE0001", name=sample["name"], tier="affluent", relationship_manager=sample["rm"],
        branch=sample["branch"], phone="13800001234", attributes={"gender": "female"},
    )  # fmt: skip
    context = contexts.build(
        row, locale, channel=body.channel, personalised=body.personalised,
        campaign={"name": "preview", "title": "preview"}, extra=dict(body.variables),
    )  # fmt: skip
    try:
        rendered = renderer.render(body.channel, name, locale, context)
    except RenderError as exc:
        raise InvalidError(f"the template does not render: {exc}") from None
    chars = len(rendered.body)
    segments = -(-chars // SMS_SEGMENT) if body.channel == "sms" else None
    return Preview(name=name, channel=body.channel, locale=rendered.locale,
                   version=rendered.version, subject=rendered.subject, body=rendered.body,
                   characters=chars, sms_segments=segments)  # fmt: skip
