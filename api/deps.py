"""Request-scoped dependencies: the transaction, the actor, role checks and Temporal calls.

Routes declare what they need through `Annotated` aliases (the full-stack-fastapi-template
pattern): `SessionDep` is one database transaction per request, committed before the response
is sent (so a failed commit is an error response, never a silent loss); `CurrentActor` is the
`Actor` named by the `Authorization: Bearer <key>` header, or a 401. `require_roles(*roles)`
builds the authorisation dependency every non-health route must carry:

    @router.post("/things", dependencies=[Depends(require_roles(Role.ADMIN))])
    def create(session: SessionDep, actor: CurrentActor) -> ...

or, to receive the checked actor directly,
`actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))]`. The roles a guard allows are
kept on it (`guard.roles`), which is how the authorisation tests find each route's rule.

Sync routes reach Temporal through the app's one shared client (`app.state.temporal`, awaited
on the app's event loop): `temporal_client(request)` returns it, or raises
`TemporalUnavailableError` (503) when Temporal is disabled or down; `call_temporal(request,
call, *args)` awaits `call(client, *args)` and also turns an RPC that Temporal did not answer
into that 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, TypeVar

from anyio import from_thread
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.temporal_client import TemporalUnavailableError
from services.actor import Actor
from services.users import authenticate
from store.session import session_scope
from store.user import Role

T = TypeVar("T")

# auto_error=False: a missing header is our 401 problem with WWW-Authenticate, not a 403.
_bearer = HTTPBearer(auto_error=False, description="An API key from `rulebank users add`.")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


# scope="function": the commit runs before the response goes out, not after it was sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_current_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor the request's API key belongs to; 401 when missing, unknown or disabled."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    actor = authenticate(session, credentials.credentials)
    if actor is None:
        # One message for unknown, revoked and disabled keys: do not tell which it was.
        raise _unauthorized("the API key is not valid")
    return actor


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


def require_roles(*roles: Role) -> Callable[[Actor], Actor]:
    """A dependency that returns the current actor if it holds one of `roles`, else 403."""
    allowed = frozenset(roles)

    def guard(actor: CurrentActor) -> Actor:
        if actor.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {actor.role.value} may not do this "
                f"(allowed: {', '.join(sorted(r.value for r in allowed))})",
            )
        return actor

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the authorisation tests
    return guard


def temporal_client(request: Request) -> Client:
    """The app's shared Temporal client, from a sync route; a 503 when Temporal is unavailable."""
    return from_thread.run(request.app.state.temporal.get)


def call_temporal(request: Request, call: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`await call(client, *args)` on the app's event loop; Temporal not answering is a 503."""
    client = temporal_client(request)
    try:
        return from_thread.run(call, client, *args)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise TemporalUnavailableError(f"Temporal did not answer: {exc.message}") from None
        raise
