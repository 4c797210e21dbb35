"""`rulebank check` and `rulebank compile`: the compiler's verdict on rule files, for people
(compiler-style text) and for tools (`--format json`).

Exit codes: 0 no errors (warnings never fail a check), 1 at least one error, 2 a file or the
templates folder could not be read. Diagnostics come from `dsl.diagnostics` so the CLI, the
API and the golden files all show the same text for the same problem.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import sources
from dsl.compiler import compile_source
from dsl.diagnostics import as_json, render_all
from dsl.errors import Diagnostic, DslError

app = typer.Typer()

TemplatesOption = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Template folder for template checks [default: ./templates if it exists].",
        show_default=False,
    ),
]


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _compile(source: sources.SourceFile, catalog) -> tuple[str | None, list[Diagnostic], Any]:
    """(plan hash or None, every diagnostic in source order, plan or None) for one file."""
    try:
        result = compile_source(source.text, source.name, catalog=catalog)
    except DslError as exc:
        found = [*exc.diagnostics, *exc.warnings]
        return None, _ordered(found), None
    return result.plan.hash, _ordered(result.warnings), result.plan


def _ordered(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.span.line, d.span.column, d.code))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@app.command()
def check(
    paths: Annotated[list[str], typer.Argument(help="Rule files or directories of *.rules.")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output as text or one JSON document.")
    ] = OutputFormat.TEXT,
    templates: TemplatesOption = None,
) -> None:
    """Check rule files: syntax, names, types, templates and compliance lints."""
    names = sources.expand(paths)
    files = [sources.read(name) for name in names]  # all readable before any output
    catalog = sources.catalog(templates)
    reports: list[dict[str, Any]] = []
    errors = warnings = 0
    for source in files:
        plan_hash, diagnostics, _ = _compile(source, catalog)
        file_errors = sum(d.is_error for d in diagnostics)
        errors += file_errors
        warnings += len(diagnostics) - file_errors
        if output is OutputFormat.TEXT and diagnostics:
            typer.echo(render_all(diagnostics, source.text, source.name) + "\n")
        reports.append(
            {
                "file": source.name,
                "ok": file_errors == 0,
                "plan_hash": plan_hash,
                "diagnostics": [as_json(d, source.name) for d in diagnostics],
            }
        )
    if output is OutputFormat.JSON:
        document = {"files": reports, "errors": errors, "warnings": warnings}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        typer.echo(
            f"checked {_plural(len(files), 'file')}: "
            f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        )
    raise typer.Exit(1 if errors else 0)


@app.command("compile")
def compile_command(
    file: Annotated[str, typer.Argument(help="One rule file, or - for standard input.")],
    templates: TemplatesOption = None,
) -> None:
    """Compile one rule file and print its plan as JSON; diagnostics go to stderr."""
    source = sources.read(file)
    catalog = sources.catalog(templates)
    _, diagnostics, plan = _compile(source, catalog)
    if diagnostics:
        typer.echo(render_all(diagnostics, source.text, source.name), err=True)
    if plan is None:
        raise typer.Exit(1)
    typer.echo(json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False))
