"""`rulebank dev bootstrap`: bring an embedded (laptop) installation to a demo-ready state.

Idempotent, so `make run` can call it every time: migrate the database, create one demo user
per role (keys are printed once and kept in `.rulebank/demo-keys.json`, readable by the owner
only, because a laptop demo must be resumable; production creates users with `rulebank users
add`), seed demo customers when there are none, and take every shipped ruleset through the
real review path — drafted by marketing ops, approved by compliance, activated by an admin —
so the audit log shows what a bank would see. Activation is database work only; the campaign
schedules follow it in Temporal once the transactions committed (when Temporal answers).
`rulebank run` calls `bootstrap_demo` itself, between starting Temporal and the worker.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from config.settings import get_settings
from dsl.templates_catalog import TemplateCatalog
from runtime.temporal_client import TemporalUnavailableError, connect
from services import demo, registry
from services.actor import Actor
from services.campaigns import sync_schedules
from services.errors import DomainError
from services.leads_rm import seed_demo_profiles
from services.users import create_user
from store import migrate
from store.customer import Customer
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.session import make_engine, make_session_factory, session_scope
from store.user import Role, User

app = typer.Typer(help="Embedded demo installation.")

DEMO_USERS = {
    "mo.li": Role.MARKETING_OPS,
    "cc.wang": Role.COMPLIANCE,
    "sd.chen": Role.SERVICE_DESK,
    "rm.liu": Role.SALES,
    "admin": Role.ADMIN,
}
KEYS_FILE = Path(".rulebank/demo-keys.json")


@app.command("bootstrap")
def bootstrap(
    customers: Annotated[
        int, typer.Option(help="Demo customers to seed when there are none.")
    ] = 2_000,
    rulesets: Annotated[Path, typer.Option(help="Folder of rule files to activate.")] = Path(
        "rulesets"
    ),
    templates: Annotated[Path, typer.Option(help="Templates folder.")] = Path("templates"),
    schedules: Annotated[
        bool, typer.Option(help="Reconcile campaign schedules if Temporal answers.")
    ] = True,
) -> None:
    """Migrate, create demo users, seed customers and activate the shipped rulesets."""
    settings = get_settings()
    keys = bootstrap_demo(settings, customers=customers, rulesets=rulesets, templates=templates)
    if schedules:
        # Activation is pure database work; Temporal follows once the transactions committed.
        try:
            sync_schedules_now(settings, timeout_s=3)
        except TemporalUnavailableError as exc:
            typer.echo(f"note: schedules not reconciled ({exc.detail}); `rulebank run` or "
                       "`rulebank schedules sync` will do it")  # fmt: skip
    print_keys(keys)


def bootstrap_demo(settings, *, customers: int, rulesets: Path, templates: Path) -> dict[str, str]:
    """The idempotent demo set-up; returns the demo users' API keys by name."""
    url = settings.database.url
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        keys = _users(factory)
        _seed(factory, customers)
        with session_scope(factory) as session:
            seed_demo_profiles(session)  # sales teams, so demo leads get owners
        catalog = TemplateCatalog.from_directory(templates) if templates.is_dir() else None
        for path in sorted(rulesets.glob("*.rules")):
            _activate(factory, path, catalog)
    finally:
        engine.dispose()
    return keys


def sync_schedules_now(settings, *, timeout_s: float) -> None:
    """Reconcile every campaign schedule with the active versions, printing what changed."""
    engine = make_engine(settings.database.url)

    async def main():
        client = await connect(settings.temporal, timeout_s=timeout_s)
        return await sync_schedules(client, make_session_factory(engine), settings)

    try:
        report = asyncio.run(main())
    finally:
        engine.dispose()
    for verb in ("created", "updated", "deleted"):
        for sid in getattr(report, verb):
            typer.echo(f"schedule {verb}: {sid}")
    typer.echo(f"schedules: {len(report.unchanged)} unchanged")


def print_keys(keys: dict[str, str]) -> None:
    typer.echo("demo users (role: name = API key):")
    for name, role in DEMO_USERS.items():
        typer.echo(f"  {role.value:13} {name:8} = {keys.get(name, '(see ' + str(KEYS_FILE) + ')')}")


def _users(factory) -> dict[str, str]:
    keys = json.loads(KEYS_FILE.read_text()) if KEYS_FILE.exists() else {}
    with session_scope(factory) as session:
        existing = set(session.scalars(sa.select(User.name)))
        for name, role in DEMO_USERS.items():
            if name not in existing:
                _user, keys[name] = create_user(session, name, role)
    KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEYS_FILE.write_text(json.dumps(keys, indent=2))
    os.chmod(KEYS_FILE, 0o600)  # demo credentials: owner-readable only
    return keys


def _seed(factory, count: int) -> None:
    with session_scope(factory) as session:
        if session.scalar(sa.select(sa.func.count()).select_from(Customer)):
            return
    today = datetime.now(demo.SHANGHAI).date()
    demo.seed_customers(factory, count, seed=7, today=today)
    typer.echo(f"seeded {count:,} demo customers")


def _activate(factory, path: Path, catalog) -> None:
    author, checker = Actor("mo.li", Role.MARKETING_OPS), Actor("cc.wang", Role.COMPLIANCE)
    admin = Actor("admin", Role.ADMIN)
    source = path.read_text(encoding="utf-8")
    name = path.stem
    with session_scope(factory) as session:
        active = session.scalar(
            sa.select(RulesetVersion).join(Ruleset)
            .where(Ruleset.name == name, RulesetVersion.status == VersionStatus.ACTIVE)
        )  # fmt: skip
        if active is not None and active.source == source:
            return
    try:
        with session_scope(factory) as session:
            version = registry.create_version(session, author, name, source, catalog)
            registry.submit(session, author, name, version.version)
            registry.decide(
                session,
                checker,
                name,
                version.version,
                approve=True,
                comment="demo: reviewed and approved",
            )
            registry.activate(session, admin, name, version.version)
        typer.echo(f"activated {name} v{version.version} ({version.plan_hash[:12]})")
    except DomainError as exc:
        typer.echo(f"{path}: {exc.title}: {exc.detail}", err=True)
        raise typer.Exit(1) from None
