"""Parse rule text into the typed syntax tree, turning every Lark failure into diagnostics.

The LALR parser is built once per process from dsl/grammar.lark (as python-hcl2 does) with an
Indenter post-lexer for blocks. Limits on source size, line count and nesting depth are checked
here so hostile input gets a diagnostic, never a RecursionError or an unbounded parse.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput, VisitError
from lark.indenter import DedentError, Indenter

from dsl.builder_rules import TreeBuilder
from dsl.errors import Diagnostic, DslError, Span
from dsl.syntax import RulesetFile
from dsl.syntax_errors import diagnose_unexpected

MAX_SOURCE_BYTES = 1_000_000
MAX_LINES = 20_000
MAX_DEPTH = 60  # nesting of expressions and blocks
_SURROGATE = re.compile("[\ud800-\udfff]")


class _RuleIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8


def _takes_space(node) -> bool:
    # Newline and indentation tokens must not stretch a line's span onto the next line.
    return not (isinstance(node, Token) and node.type in ("_NL", "_INDENT", "_DEDENT"))


@cache
def _lark() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        postlex=_RuleIndenter(),
        propagate_positions=_takes_space,
        maybe_placeholders=False,
        cache=False,
    )


def parse(source: str, filename: str = "<input>") -> RulesetFile:
    """Parse one rule file; raises DslError with every syntax diagnostic found."""
    _check_limits(source, filename)
    text = source if source.endswith("\n") else source + "\n"
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise DslError([diagnose_unexpected(exc, text)], source, filename) from None
    except DedentError as exc:
        line = _dedent_line(str(exc), text)
        diagnostic = Diagnostic(
            "E106",
            "this line's indentation matches no enclosing block",
            Span(line, 1),
            "indent by the same number of spaces as a line above",
        )
        raise DslError([diagnostic], source, filename) from None
    except LarkError as exc:  # pragma: no cover - any other Lark failure still gets a diagnostic
        raise DslError(
            [Diagnostic("E100", f"cannot parse: {exc}", Span(1, 1))], source, filename
        ) from None
    too_deep = _too_deep(tree)
    if too_deep is not None:
        raise DslError([too_deep], source, filename)
    builder = TreeBuilder(filename, source)
    try:
        result = builder.transform(tree)
    except VisitError as exc:  # a builder bug must still surface as a DslError
        raise DslError(
            [Diagnostic("E100", f"internal parser error: {exc.orig_exc}", Span(1, 1))],
            source,
            filename,
        ) from None
    if builder.diagnostics:
        raise DslError(builder.diagnostics, source, filename)
    return result


def _check_limits(source: str, filename: str) -> None:
    problems = []
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        problems.append(
            Diagnostic(
                "E901",
                f"rule file is larger than {MAX_SOURCE_BYTES:,} bytes",
                Span(1, 1),
                "split it into several rulesets",
            )
        )
    elif source.count("\n") > MAX_LINES:
        problems.append(
            Diagnostic(
                "E901",
                f"rule file has more than {MAX_LINES:,} lines",
                Span(1, 1),
                "split it into several rulesets",
            )
        )
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            column = len(line) - len(stripped) + 1
            problems.append(
                Diagnostic(
                    "E107",
                    "tab used for indentation",
                    Span(number, column),
                    "indent with spaces (two per level)",
                )
            )
            break
    broken = _SURROGATE.search(source)
    if broken is not None:
        # Only reachable through JSON "\\ud800" escapes; such text cannot even be hashed or stored.
        start = broken.start()
        line = source.count("\n", 0, start) + 1
        column = start - source.rfind("\n", 0, start)
        problems.append(
            Diagnostic(
                "E101",
                "this text holds a broken character (an unpaired UTF-16 surrogate)",
                Span(line, column),
                "retype this part of the line",
            )
        )
    if problems:
        raise DslError(problems, source, filename)


def _too_deep(tree: Tree) -> Diagnostic | None:
    # Iterative walk: a deep tree must not be able to exhaust the Python stack here either.
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            return Diagnostic(
                "E902",
                f"nesting deeper than {MAX_DEPTH} levels",
                Span(getattr(meta, "line", 1), getattr(meta, "column", 1)),
                "split the condition into segments or simpler parts",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


def _dedent_line(message: str, text: str) -> int:
    # Lark's DedentError names no position; find the first line whose indent is not a prefix.
    levels = [0]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent > levels[-1]:
            levels.append(indent)
            continue
        while indent < levels[-1]:
            levels.pop()
        if indent != levels[-1]:
            return number
    return 1
