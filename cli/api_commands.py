"""`rulebank api`: serve the control API with uvicorn.

The app is built here, before uvicorn starts, so a database that is not migrated stops the
command with the clear `SchemaOutOfDateError` message and exit code 2 instead of a server that
fails every request. Host and port default to the settings (`RULEBANK_API__HOST`/`__PORT`).
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.app import create_app
from cli.db_commands import checked_url
from config.settings import get_settings

app = typer.Typer()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port.")] = None,
) -> None:
    """Serve the control API (OpenAPI docs at /docs)."""
    checked_url()  # exits 2 with the migration message on an unmigrated database
    settings = get_settings()
    app_ = create_app(settings)
    uvicorn.run(app_, host=host or settings.api.host, port=port or settings.api.port)
