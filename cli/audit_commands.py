"""`rulebank audit verify` and `rulebank audit export`: the audit chain from the command line.

`verify` recomputes the hash chain and exits 1 naming the first broken entry, so a scheduled
job or a compliance officer gets a plain yes or no; it prints the head to pass as `--anchor`
next time, which also catches the newest entries being removed. `export` writes JSON lines
(the same lines as the API's export) to stdout or a file, streamed, so the log never has to
fit in memory.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.db_commands import database_session
from cli.sources import fail
from store import audit

app = typer.Typer(help="Check and export the hash-chained audit log.", no_args_is_help=True)


@app.command()
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH printed by an earlier verify: the chain must still hold it."),
    ] = None,
) -> None:
    """Check every entry's hash and link; exit 1 at the first broken one."""
    with database_session() as session:
        result = audit.verify(session, anchor=_anchor(anchor) if anchor else None)
    if not result.ok:
        typer.echo(
            f"audit chain broken at seq {result.first_broken_seq}: {result.reason}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain ok: {result.checked} entries verified")
    # Kept outside the database, the head catches a later removal of the newest entries.
    if result.head_seq:  # an empty chain has no entry to anchor to yet
        typer.echo(f"head (next --anchor): {result.head_seq}:{result.head_hash}")


def _anchor(text: str) -> audit.Anchor:
    seq, _, digest = text.partition(":")
    if not (seq.isdigit() and int(seq) >= 1 and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise fail(f"--anchor must be SEQ:HASH (a 64-digit hex hash), got {text!r}")
    return audit.Anchor(int(seq), digest)


def _aware(value: datetime | None, option: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise fail(f"{option} needs a timezone, e.g. 2025-01-01T00:00:00+08:00")
    return value


@app.command()
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File [stdout].")] = None,
    since: Annotated[str | None, typer.Option(help="ISO datetime with zone (incl.).")] = None,
    until: Annotated[str | None, typer.Option(help="ISO datetime with zone (excl.).")] = None,
    ruleset: Annotated[str | None, typer.Option(help="Only entries about this ruleset.")] = None,
) -> None:
    """Write audit entries as JSON lines, in seq order."""
    try:
        start = _aware(datetime.fromisoformat(since) if since else None, "--since")
        end = _aware(datetime.fromisoformat(until) if until else None, "--until")
    except ValueError as exc:
        raise fail(f"not an ISO datetime: {exc}") from None
    try:
        stream = output.open("w", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    count = 0
    try:
        with database_session() as session:
            for line in audit.export_jsonl(session, since=start, until=end, ruleset=ruleset):
                stream.write(line)
                count += 1
    finally:
        if output:
            stream.close()
    typer.echo(f"exported {count} entries", err=True)
