"""`api.deps.call_temporal`: Temporal not answering is a 503 problem, never a 500.

Campaign, ticket and lead routes reach Temporal through it; a fake client holder stands in for
a Temporal that accepted the connection and then stopped answering (the disabled case is in
the routes' own tests).
"""

from __future__ import annotations

import pytest
from fastapi import Request
from temporalio.service import RPCError, RPCStatusCode

from api.deps import call_temporal

PROBLEM = "application/problem+json"


class Connected:
    """Stands in for `app.state.temporal`: hands out a client whose calls the test decides."""

    async def get(self) -> object:
        return object()


async def unanswered(_client: object, status: RPCStatusCode) -> None:
    raise RPCError("upstream connect error", status, b"")


@pytest.mark.parametrize("status", [RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED])
def test_an_unanswered_call_is_a_503_problem(app, client, status) -> None:
    def route(request: Request) -> None:
        call_temporal(request, unanswered, status)

    app.add_api_route("/probe", route, methods=["POST"])
    client.app.state.temporal = Connected()
    response = client.post("/probe")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["title"] == "Temporal unavailable"
    assert "Temporal did not answer" in body["detail"]


def test_a_result_passes_through(app, client) -> None:
    async def answered(_client: object, value: int) -> int:
        return value * 2

    def route(request: Request) -> int:
        return call_temporal(request, answered, 21)

    app.add_api_route("/probe", route)
    client.app.state.temporal = Connected()
    assert client.get("/probe").json() == 42
