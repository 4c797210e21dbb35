"""Explain a Lark syntax failure in the rule author's words: what was found, what could come
there instead, and a hint ("did you mean `schedule`?", "indent the block under ...").

Terminal names are Lark's internals (`AT_MOST`, `_NL`); this module is the one place that turns
them into text, so diagnostics never leak grammar jargon.
"""

from __future__ import annotations

import difflib

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from dsl.errors import Diagnostic, Span

DESCRIPTIONS = {
    "NAME": "a name",
    "STRING": 'a quoted string like "text"',
    "NUMBER": "a number",
    "TIME": "a time like 09:00",
    "DATE": "a date like 2026-10-01",
    "PERCENT": "a percentage like 75%",
    "UNIT": "a time unit (minutes, hours, days, weeks, months, years)",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "_NL": "end of line",
    "_INDENT": "an indented block",
    "_DEDENT": "end of block",
    "$END": "end of file",
}
MAX_LISTED = 10


def diagnose_unexpected(exc: UnexpectedInput, text: str) -> Diagnostic:
    """One diagnostic for the first syntax error Lark found."""
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, text)
    if isinstance(exc, UnexpectedEOF):
        expected = _describe_all(exc.expected)
        line = max(1, text.count("\n"))
        return Diagnostic("E105", f"expected {expected}, found end of file", Span(line, 1))
    assert isinstance(exc, UnexpectedToken)
    return _bad_token(exc)


def _bad_character(exc: UnexpectedCharacters, text: str) -> Diagnostic:
    span = Span(exc.line, exc.column)
    if exc.char == '"':
        return Diagnostic("E102", "this string is never closed", span,
                          'close it with " on the same line')
    if exc.char in "“”‘’":
        return Diagnostic("E101", f"unexpected character `{exc.char}`", span,
                          'use straight quotes "..." for strings')
    if exc.char == "=":
        return Diagnostic("E101", "unexpected `=`", span, "compare with `==`")
    return Diagnostic("E101", f"unexpected character `{exc.char}`", span,
                      "names use letters, digits and _; strings go in double quotes")


def _bad_token(exc: UnexpectedToken) -> Diagnostic:
    token = exc.token
    expected = _expected(exc)
    span = Span(token.line or 1, token.column or 1, token.end_line, token.end_column)
    if token.type in ("_INDENT", "_DEDENT") and token.end_line:
        # Indent tokens borrow the newline's position; point at the line they start instead.
        span = Span(token.end_line, token.end_column or 1)
    if token.type == "_INDENT":
        return Diagnostic("E104", "unexpected indentation", span,
                          "this line is indented deeper than the block it belongs to")
    if "_INDENT" in expected:
        return Diagnostic("E108", "expected an indented block", span,
                          "the lines of this block go below it, indented by two spaces")
    hint = _did_you_mean(str(token), expected) if str(token).isidentifier() else None
    if token.type == "$END" and "RULESET" in expected:
        hint = "a rule file starts with `ruleset <name>`"
    message = f"expected {_describe_all(expected)}, found {_found(token)}"
    return Diagnostic("E103", message, span, hint)


def _expected(exc: UnexpectedToken) -> set[str]:
    # When the contextual lexer fails it reports only what its own state could lex; the parser
    # state knows every terminal that may come next, so prefer it.
    state = getattr(exc, "state", None)
    try:
        keys = state.parse_conf.states[state.position].keys()
        return {key for key in keys if key.upper() == key}
    except AttributeError:
        return set(exc.expected)


def _found(token) -> str:
    if token.type in ("_NL", "_DEDENT"):
        return "end of line"
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def _keyword(terminal: str) -> str | None:
    from dsl.parser import _lark

    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return None
    return pattern.value if isinstance(pattern, PatternStr) else None


def _describe(terminal: str) -> str:
    if terminal in DESCRIPTIONS:
        return DESCRIPTIONS[terminal]
    keyword = _keyword(terminal)
    return f"`{keyword}`" if keyword is not None else terminal.lower()


def _describe_all(expected) -> str:
    names = sorted({_describe(t) for t in expected}, key=lambda d: (not d.startswith("`"), d))
    if len(names) > MAX_LISTED:
        names = [*names[:MAX_LISTED], f"... ({len(names) - MAX_LISTED} more)"]
    return names[0] if len(names) == 1 else "one of: " + ", ".join(names)


def _did_you_mean(word: str, expected: set[str]) -> str | None:
    keywords = [k for k in (_keyword(t) for t in expected) if k and k.isidentifier()]
    match = difflib.get_close_matches(word, keywords, n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else None
