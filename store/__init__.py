"""Storage: SQLAlchemy models, engines and sessions, the audit log and Alembic migrations.

Imports nothing from api, workflows or activities. Models live in one module per area and are
gathered in `store.models`; `store.session` makes engines and sessions, `store.migrate` applies
and checks migrations, `store.audit` keeps the hash-chained audit log.
"""
