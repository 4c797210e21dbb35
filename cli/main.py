"""The `rulebank` command: one Typer app that every command group is added to.

Groups live in their own modules and are added with one `app.add_typer(...)` line each: an
unnamed group (the rule-file commands) puts its commands at the top level, a named one
(`db`, `users`, `api`, `worker`, `audit`, `demo` to come) becomes `rulebank NAME ...`.
Exit codes across all commands: 0 success, 1 the input has problems, 2 usage or I/O error.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from cli import (
    api_commands,
    audit_commands,
    db_commands,
    demo_commands,
    dev_commands,
    dsl_commands,
    fmt_command,
    run_commands,
    user_commands,
    worker_commands,
)

app = typer.Typer(
    name="rulebank",
    help="Rules-and-workflow automation for bank CRM: check, compile and format rule files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(dsl_commands.app)  # check, compile
app.add_typer(fmt_command.app)  # fmt
app.add_typer(db_commands.app, name="db")  # db upgrade
app.add_typer(user_commands.app, name="users")  # users add
app.add_typer(api_commands.app)  # api
app.add_typer(audit_commands.app, name="audit")  # audit verify, audit export
app.add_typer(dev_commands.app, name="dev")  # dev bootstrap (make run)
app.add_typer(demo_commands.app, name="demo")  # demo seed
app.add_typer(worker_commands.app)  # worker
app.add_typer(worker_commands.schedules_app, name="schedules")  # schedules sync
app.add_typer(run_commands.app)  # run (make run: Temporal, demo data, worker, API)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"rulebank {version('rulebank')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("rulebank (not installed)")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Rules-and-workflow automation for bank CRM."""


if __name__ == "__main__":  # pragma: no cover - `python -m cli.main`
    app()
