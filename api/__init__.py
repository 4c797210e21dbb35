"""The control API: a FastAPI app built by `api.app.create_app(settings)`.

Routers per resource live in `api.routes`; authentication, roles and the per-request
transaction in `api.deps`; problem+json error mapping in `api.problems`.
"""
