"""Stateful property test of the registry lifecycle on a real, migrated database.

Hypothesis drives random sequences of create / submit / approve / reject / activate / rollback
by random users of every role against `services.registry`, keeps a model of what each call must
do (succeed, or raise which `DomainError`), and after every step checks the invariants that
compliance relies on: maker-checker held for every released version, every active version was
approved and its stored plan still hashes to the approved hash, at most one active version per
ruleset, exactly one audit entry per successful transition and none for a refused one, and an
intact audit hash chain. Each example starts from an empty database of its own.
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dsl.plan_ops import Plan
from services import registry
from services.actor import Actor
from services.errors import ConflictError, DomainError, ForbiddenError, InvalidError, NotFoundError
from store import audit, migrate
from store.audit import AuditEntry
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.session import make_engine, make_session_factory, session_scope
from store.user import Role

S = VersionStatus
USERS = [
    Actor("ops.li", Role.MARKETING_OPS), Actor("comp.zhao", Role.COMPLIANCE),
    Actor("comp.qian", Role.COMPLIANCE), Actor("admin.wang", Role.ADMIN),
    Actor("sales.sun", Role.SALES),
]  # fmt: skip
RELEASED = (S.APPROVED, S.ACTIVE, S.RETIRED)
rulesets = st.sampled_from("ab")
# Indexes, not values: `pick` selects a version (see `_target`), and
# `who` mostly the user the call needs (the author, a compliance user, the admin), so that
# sequences reach approved and active versions instead of stopping at refusals.
picks, whos = st.integers(0, 8), st.integers(0, 9)


def source(name: str, floor: int) -> str:
    return (f'ruleset {name}\n  timezone "Asia/Shanghai"\n  calendar CN\n\n'
            f"campaign rich\n  audience customers where customer.total_assets >= {floor}\n"
            f'  schedule daily at 09:00\n  send sms "rich_sms"\n')  # fmt: skip


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.engine = make_engine(url)
        self.factory = make_session_factory(self.engine)
        self.prefix = f"rs_{uuid.uuid4().hex[:8]}"
        self.model: dict[str, list[dict]] = {}  # ruleset -> versions (status, author)
        self.audits = 0  # audit entries the successful transitions must have written

    def teardown(self) -> None:
        self.engine.dispose()

    def _run(self, expected: type[DomainError] | None, call, *, writes: bool = True) -> bool:
        """Run `call` in a transaction; check its outcome and how many entries it audited."""
        before = self._audit_count()
        try:
            with session_scope(self.factory) as session:
                call(session)
        except DomainError as exc:
            assert expected is not None, f"unexpected {exc!r}"
            assert type(exc) is expected, f"expected {expected.__name__}, got {exc!r}"
        else:
            assert expected is None, f"expected {expected.__name__}, the call succeeded"
        succeeded = expected is None and writes
        self.audits += succeeded
        assert self._audit_count() - before == succeeded
        return expected is None

    def _audit_count(self, session=None) -> int:
        if session is None:
            with self.factory() as session:
                return self._audit_count(session)
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.ruleset.startswith(self.prefix)))  # fmt: skip

    def _version(self, ruleset: str, number: int) -> dict | None:
        versions = self.model.get(ruleset, [])
        return versions[number - 1] if 0 < number <= len(versions) else None

    def _target(self, pick: int, *prefer: VersionStatus) -> tuple[str, int]:
        """(ruleset, version number): 0-3 picks one in a `prefer`red status (the call's happy
        path) if there is one, 4-7 any existing version, 8 a version that does not exist."""
        known = [(r, n) for r, vs in self.model.items() for n in range(1, len(vs) + 1)]
        preferred = [(r, n) for r, n in known if self.model[r][n - 1]["status"] in prefer]
        candidates = preferred if pick <= 3 and preferred else known
        if pick == 8 or not candidates:
            return "a", len(self.model.get("a", [])) + 1
        return candidates[pick % len(candidates)]

    @staticmethod
    def _user(likely: list[Actor], who: int) -> Actor:
        return likely[who % len(likely)] if who < 7 else USERS[who % len(USERS)]

    @initialize()
    def one_active_version(self) -> None:
        """Start with v1 of ruleset a active, so activations retire it and rollbacks happen."""
        self.create(0, "a")
        self.submit(0, 0)
        self.decide(0, 0, approve=True, comment=None)
        self.activate(0, 0)
        assert self.model["a"][0]["status"] is S.ACTIVE

    @rule(who=whos, ruleset=rulesets)
    def create(self, who: int, ruleset: str) -> None:
        user = self._user([USERS[0], USERS[3]], who)
        name, versions = f"{self.prefix}_{ruleset}", self.model.setdefault(ruleset, [])
        allowed = user.role in (Role.MARKETING_OPS, Role.ADMIN)
        text = source(name, 1000 * (len(versions) + 1))
        if self._run(None if allowed else ForbiddenError,
                     lambda s: registry.create_version(s, user, name, text)):  # fmt: skip
            versions.append({"status": S.DRAFT, "author": user.name})

    @precondition(lambda self: any(self.model.values()))
    @rule(who=whos, pick=picks)
    def submit(self, who: int, pick: int) -> None:
        ruleset, number = self._target(pick, S.DRAFT)
        version = self._version(ruleset, number)
        author = [u for u in USERS if version and u.name == version["author"]]
        user = self._user(author or USERS, who)
        expected = (NotFoundError if version is None
                    else ForbiddenError if version["author"] != user.name
                    else ConflictError if version["status"] is not S.DRAFT else None)  # fmt: skip
        name = f"{self.prefix}_{ruleset}"
        if self._run(expected, lambda s: registry.submit(s, user, name, number)):
            version["status"] = S.IN_REVIEW

    @precondition(lambda self: any(self.model.values()))
    @rule(who=whos, pick=picks, approve=st.booleans(),
          comment=st.sampled_from([None, "  ", "请补充说明"]))  # fmt: skip
    def decide(self, who: int, pick: int, approve: bool, comment) -> None:
        ruleset, number = self._target(pick, S.IN_REVIEW)
        version = self._version(ruleset, number)
        user = self._user(USERS[1:3], who)
        expected = (ForbiddenError if user.role is not Role.COMPLIANCE
                    else NotFoundError if version is None
                    else ForbiddenError if version["author"] == user.name
                    else ConflictError if version["status"] is not S.IN_REVIEW
                    else InvalidError if not approve and not (comment or "").strip()
                    else None)  # fmt: skip
        name = f"{self.prefix}_{ruleset}"
        call = lambda s: registry.decide(s, user, name, number, approve=approve, comment=comment)  # noqa: E731
        if self._run(expected, call):
            version["status"] = S.APPROVED if approve else S.REJECTED

    @precondition(lambda self: any(self.model.values()))
    @rule(who=whos, pick=picks)
    def activate(self, who: int, pick: int) -> None:
        ruleset, number = self._target(pick, S.APPROVED, S.RETIRED)
        self._activate(self._user(USERS[3:4], who), ruleset, number)

    @precondition(lambda self: any(v["status"] is S.RETIRED for vs in self.model.values()
                                   for v in vs))  # fmt: skip
    @rule(pick=picks)
    def rollback(self, pick: int) -> None:
        """The admin re-activates an earlier, retired version."""
        retired = [(r, n) for r, vs in self.model.items()
                   for n, v in enumerate(vs, 1) if v["status"] is S.RETIRED]  # fmt: skip
        self._activate(USERS[3], *retired[pick % len(retired)])

    def _activate(self, user: Actor, ruleset: str, number: int) -> None:
        version = self._version(ruleset, number)
        expected = (ForbiddenError if user.role is not Role.ADMIN
                    else NotFoundError if version is None
                    else ConflictError if version["status"] not in RELEASED else None)  # fmt: skip
        already = version is not None and version["status"] is S.ACTIVE  # idempotent: no entry
        name = f"{self.prefix}_{ruleset}"
        if self._run(expected, lambda s: registry.activate(s, user, name, number),
                     writes=not already):  # fmt: skip
            for other in self.model[ruleset]:
                if other["status"] is S.ACTIVE:
                    other["status"] = S.RETIRED
            version["status"] = S.ACTIVE

    @invariant()
    def database_matches_model_and_rules(self) -> None:
        with self.factory() as session:
            rows = session.execute(
                sa.select(Ruleset.name, RulesetVersion).join(Ruleset)
                .where(Ruleset.name.startswith(self.prefix)).order_by(RulesetVersion.version)
            ).all()  # fmt: skip
            stored: dict[str, list[RulesetVersion]] = {}
            for name, version in rows:
                stored.setdefault(name.removeprefix(f"{self.prefix}_"), []).append(version)
            for ruleset, versions in self.model.items():
                db = stored.get(ruleset, [])
                assert [v.status for v in db] == [v["status"] for v in versions]
                assert sum(v.status is S.ACTIVE for v in db) <= 1
                for v in db:
                    if v.status in (*RELEASED, S.REJECTED):
                        # Maker-checker: someone other than the author decided.
                        assert v.approver is not None and v.approver != v.author
                    if v.status is S.ACTIVE:
                        assert Plan.model_validate(v.plan).compute_hash() == v.plan_hash
            assert self._audit_count(session) == self.audits
            assert audit.verify(session).ok


SETTINGS = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


@contextmanager
def fresh_database(base_url: str, folder: Path):
    """An empty migrated database: a new SQLite file, or a new PostgreSQL schema."""
    if not base_url.startswith("postgresql"):
        folder.mkdir(parents=True)
        try:
            url = f"sqlite:///{folder / 'registry.db'}"
            migrate.upgrade(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"stateful_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        url_text = url.render_as_string(hide_password=False)
        migrate.upgrade(url_text)
        yield url_text
    finally:
        with admin.connect() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.mark.slow
def test_registry_lifecycle(database_url: str, tmp_path: Path) -> None:
    examples = iter(range(10**6))

    class Machine(RegistryMachine):
        def __init__(self) -> None:
            self._db = fresh_database(database_url, tmp_path / str(next(examples)))
            super().__init__(self._db.__enter__())

        def teardown(self) -> None:
            super().teardown()
            self._db.__exit__(None, None, None)

    run_state_machine_as_test(Machine, settings=SETTINGS)
