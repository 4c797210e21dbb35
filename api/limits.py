"""Request body cap: bodies larger than `settings.api.max_body_bytes` get a 413 problem.

A pure ASGI middleware, so nothing downstream (JSON parsing, pydantic) ever sees an oversized
body. A declared `Content-Length` above the cap is refused before reading anything; otherwise
the body is read up to the cap (chunked uploads have no length to trust) and replayed to the
app, so memory per request is bounded by the cap.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send, declared.isdigit())
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away: nothing to answer
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, True)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, too_large: bool) -> None:
        if too_large:
            response = problem(
                413,
                f"the request body is larger than {self.max_bytes} bytes",
                type_="urn:rulebank:problem:body-too-large",
            )
        else:
            response = problem(400, "the Content-Length header is not a number")
        await response(scope, receive, send)
