"""Render diagnostics the way a compiler does: `file:line:col: severity[CODE]: message`, the
source line, a caret under the offending text, and a hint.

Rendering is kept apart from collection so the CLI, the API (JSON) and the golden tests all
show the same text for the same problem.
"""

from __future__ import annotations

from collections.abc import Iterable

from dsl.errors import Diagnostic


def render(diagnostic: Diagnostic, source: str, filename: str) -> str:
    """One diagnostic as compiler-style text (no trailing newline)."""
    span = diagnostic.span
    head = (
        f"{filename}:{span.line}:{span.column}: "
        f"{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"
    )
    lines = _lines(source)
    out = [head]
    if 1 <= span.line <= len(lines):
        text = lines[span.line - 1].expandtabs(1)
        gutter = f"{span.line:>4} | "
        out.append(gutter + text)
        caret_pad = " " * (len(gutter) - 2) + "| " + _caret_indent(text, span.column)
        width = min(span.width, max(1, len(text) - span.column + 1))
        out.append(caret_pad + "^" * width)
    if diagnostic.hint:
        out.append(f"     = hint: {diagnostic.hint}")
    return "\n".join(out)


def render_all(diagnostics: Iterable[Diagnostic], source: str, filename: str) -> str:
    """Every diagnostic, errors and warnings in source order, separated by blank lines."""
    ordered = sorted(diagnostics, key=lambda d: (d.span.line, d.span.column, d.code))
    return "\n\n".join(render(d, source, filename) for d in ordered)


def as_json(diagnostic: Diagnostic, filename: str) -> dict:
    """A diagnostic as a JSON-ready dict (used by `--format json` and the API)."""
    span = diagnostic.span
    return {
        "file": filename,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "severity": diagnostic.severity.value,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
    }


def _lines(source: str) -> list[str]:
    # Split like the parser counts lines: on "\n" only. str.splitlines() also breaks at U+2028,
    # form feeds and the like, which may sit inside a string and would shift every later line.
    # Unpaired surrogates (only from JSON escapes) are shown as "?" so the text can be printed.
    text = source.encode("utf-8", "replace").decode("utf-8")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines[-1] == "":
        lines.pop()
    return lines


def _caret_indent(text: str, column: int) -> str:
    # Keep wide (CJK) characters aligned: a caret under them needs two cells each.
    prefix = text[: max(0, column - 1)]
    return "".join("  " if _is_wide(ch) else " " for ch in prefix)


def _is_wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in ("W", "F")
