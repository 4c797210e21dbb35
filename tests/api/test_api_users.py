"""API keys: created once, stored only as prefix + hash, and refused once revoked or disabled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.actor import Actor
from services.errors import ConflictError, InvalidError
from services.users import authenticate, create_user
from store.audit import AuditEntry
from store.user import ApiKey, Role, User, key_hash


@pytest.fixture
def session(app):
    with app.state.session_factory() as session, session.begin():
        yield session


def test_key_is_stored_only_as_prefix_and_hash(session):
    user, key = create_user(session, "nina", Role.COMPLIANCE)
    assert key.startswith("rbk_") and len(key) >= 40
    stored = session.scalars(sa.select(ApiKey).where(ApiKey.user_id == user.id)).one()
    assert stored.prefix == key[:8] and stored.key_hash == key_hash(key)
    assert key not in repr(session.execute(sa.select(ApiKey.__table__)).all())
    assert authenticate(session, key) == Actor("nina", Role.COMPLIANCE)
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.subject_id == "nina")).one()
    assert entry.action == "user.created" and key not in str(entry.detail)


def test_wrong_revoked_and_disabled_keys_are_refused(session):
    user, key = create_user(session, "nina", "sales")
    assert authenticate(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert authenticate(session, "not-a-key") is None
    assert authenticate(session, "rbk_\x00" + key[5:]) is None
    session.execute(sa.update(ApiKey).values(revoked_at=datetime.now(UTC)))
    assert authenticate(session, key) is None
    session.execute(sa.update(ApiKey).values(revoked_at=None))
    session.execute(sa.update(User).where(User.id == user.id).values(disabled=True))
    assert authenticate(session, key) is None


def test_names_roles_and_duplicates_are_checked(session):
    create_user(session, "nina", Role.ADMIN)
    with pytest.raises(ConflictError):
        create_user(session, "nina", Role.ADMIN)
    with pytest.raises(InvalidError, match="unknown role"):
        create_user(session, "olga", "superuser")
    with pytest.raises(InvalidError, match="invalid user name"):
        create_user(session, "bad name", Role.ADMIN)


def test_disabled_user_gets_401_through_the_api(app, client, auth):
    with app.state.session_factory() as session, session.begin():
        session.execute(sa.update(User).where(User.name == "cora").values(disabled=True))
    response = client.get("/v1/rulesets", headers=auth("cora"))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
