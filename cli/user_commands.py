"""`rulebank users add NAME --role ROLE`: create an API user and print their key once.

The key is never stored (only its prefix and hash are), so this output is the only place it
ever appears: it goes to stdout alone on its line, for a script to capture, and the reminder
goes to stderr. Creating a user is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.db_commands import database_session
from cli.sources import fail
from services.errors import DomainError
from services.users import create_user
from store.user import Role

app = typer.Typer(help="API users and their keys.", no_args_is_help=True)


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="User name, as audit entries will show it.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
) -> None:
    """Create a user with a role and print a new API key (shown only this once)."""
    try:
        with database_session() as session:
            _, key = create_user(session, name, role, created_by="cli")
    except DomainError as exc:
        raise fail(exc.detail) from None
    typer.echo(key)
    typer.echo(
        f"created {role.value} user {name!r}; store the key now, it is not shown again", err=True
    )
