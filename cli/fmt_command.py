"""`rulebank fmt`: rewrite rule files in the canonical layout (see dsl/formatter.py).

`--check` changes nothing and exits 1 listing the files that would change, for CI; `-` reads
standard input and writes the formatted text to standard output. Status lines go to stderr so
stdout carries only formatted text. A file that does not parse is left alone, its diagnostics
printed, and the command exits 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import sources
from dsl.diagnostics import render_all
from dsl.errors import DslError
from dsl.formatter import format_source

app = typer.Typer()


@app.command()
def fmt(
    paths: Annotated[
        list[str], typer.Argument(help="Rule files, directories of *.rules, or - for stdin.")
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if any file would change.")
    ] = False,
) -> None:
    """Format rule files in place (comments are kept; the compiled plan never changes)."""
    files = [sources.read(name) for name in sources.expand(paths)]
    changed = unchanged = failed = 0
    for source in files:
        try:
            formatted = format_source(source.text, source.name)
        except DslError as exc:
            typer.echo(render_all(exc.diagnostics, source.text, source.name), err=True)
            failed += 1
            continue
        if source.path is None and not check:  # standard input -> standard output
            typer.echo(formatted, nl=False)
        if formatted == source.text:
            unchanged += 1
            continue
        changed += 1
        if check:
            typer.echo(f"would reformat {source.name}", err=True)
        elif source.path is not None:
            sources.write(source.path, formatted)
            typer.echo(f"reformatted {source.name}", err=True)
    typer.echo(_summary(changed, unchanged, failed, check), err=True)
    raise typer.Exit(1 if failed or (check and changed) else 0)


def _summary(changed: int, unchanged: int, failed: int, check: bool) -> str:
    def files(count: int) -> str:
        return f"{count} file{'' if count == 1 else 's'}"

    verb = "would be reformatted" if check else "reformatted"
    parts = [f"{files(changed)} {verb}", f"{files(unchanged)} left unchanged"]
    if failed:
        parts.append(f"{files(failed)} with errors")
    return ", ".join(parts)
