"""Alembic migrations for the rulebank schema; run them through `store.migrate`."""
