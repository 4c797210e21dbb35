"""The service layer: rulebank's use cases (registry lifecycle, users, customers, diffs).

Services take a SQLAlchemy session and an acting user, enforce the business rules (maker-checker,
immutability, one active version) and write the audit entry in the same transaction. They raise
only `services.errors.DomainError` subclasses, which carry their HTTP status; the API maps them
to problem+json once. Services import store and dsl, never api, workflows or activities.
"""
