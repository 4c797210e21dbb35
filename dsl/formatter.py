"""Canonical layout for rule files: `rulebank fmt`, the formatter a reviewer's diff relies on.

The formatter first parses the file (so it never rewrites text the compiler would reject), then
works on tokens line by line rather than on the AST, which is how comments survive: only the
whitespace between tokens, the indentation and the blank lines change, never a token's text.
That is also why formatting cannot change the compiled plan. The layout: two spaces per block
level, continuation lines (`and` / `or`, or inside brackets) two more than the line they
continue, single spaces between tokens with punctuation attached, two spaces before a trailing
comment, at most one blank line inside a block, exactly one between top-level blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsl.parser import parse

# Alternatives are ordered the way the grammar's terminal priorities are (DATE and TIME before
# PERCENT before NUMBER), so a token here is never split where the parser sees one token.
_TOKEN = re.compile(
    r"""
    (?P<STRING>"(?:[^"\\\n]|\\.)*")
  | (?P<COMMENT>\#[^\n]*)
  | (?P<DATE>\d{4}-\d{2}-\d{2})
  | (?P<TIME>\d{1,2}:\d{2})
  | (?P<PERCENT>\d+(?:\.\d+)?%)
  | (?P<NUMBER>\d[\d_]*(?:\.\d[\d_]*)?)
  | (?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<OP>==|!=|<=|>=|[<>+\-*/()\[\],:.])
  | (?P<SPACE>[ \t]+)
  | (?P<OTHER>.)
    """,
    re.VERBOSE,
)
_OPENERS = {"(", "["}
_CLOSERS = {")", "]"}
_NO_SPACE_BEFORE = {",", ":", ")", "]", "."}
_NO_SPACE_AFTER = {"(", "[", "."}
# Words after which an expression starts: a `(` after them groups, a `-` after them is unary.
_EXPR_KEYWORDS = {"where", "when", "and", "or", "not", "until", "while", "if", "in"}
_VALUE_KINDS = {"NUMBER", "PERCENT", "STRING", "DATE", "TIME"}
INDENT = "  "


@dataclass
class _Line:
    kind: str  # "blank" | "comment" | "head" (starts a statement) | "cont" (continues one)
    indent: int = 0  # original indentation, in spaces
    first: str = ""  # first token's text
    text: str = ""  # the line's canonical text, without indentation
    level: int = 0
    next_code: _Line | None = None  # the first head or cont line after this one


def format_source(source: str, filename: str = "<input>") -> str:
    """Canonical layout of a rule file; raises DslError if it does not parse."""
    parse(source, filename)
    lines = _classify(source)
    _assign_levels(lines)
    return _render(lines)


def _tokenize(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "SPACE"]


def _classify(source: str) -> list[_Line]:
    """Split into physical lines; code lines become `head` or `cont` (continuation) lines."""
    lines: list[_Line] = []
    depth = 0
    history: list[tuple[str, str]] = []  # last code tokens: they decide `-` and `(` spacing
    for number, raw in enumerate(source.split("\n")):
        tokens = _tokenize(raw.rstrip("\r"))
        comment = tokens.pop()[1].rstrip() if tokens and tokens[-1][0] == "COMMENT" else ""
        # The parser ignores the first line's indentation (no newline precedes it).
        indent = 0 if number == 0 else len(raw) - len(raw.lstrip(" "))
        if not tokens:
            lines.append(_Line("comment" if comment else "blank", indent, text=comment))
            continue
        continues = depth > 0 or tokens[0][1] in ("and", "or")
        text = _join(tokens, history) + (INDENT + comment if comment else "")
        lines.append(_Line("cont" if continues else "head", indent, tokens[0][1], text))
        for _, token in tokens:
            depth = max(0, depth + (token in _OPENERS) - (token in _CLOSERS))
        history = (history + tokens)[-2:]
    return lines


def _assign_levels(lines: list[_Line]) -> None:
    """Block levels from the original indentation stack, as the parser's Indenter sees them."""
    stack = [0]
    head_level = 0
    stacks: list[list[int]] = []  # the indentation stack in force at each line
    for line in lines:
        if line.kind == "head":
            if line.indent > stack[-1]:
                stack.append(line.indent)
            while line.indent < stack[-1]:
                stack.pop()
            head_level = line.level = len(stack) - 1
        elif line.kind == "cont":
            line.level = head_level + 1
        stacks.append(list(stack))
    following: _Line | None = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        line.next_code = following
        if line.kind == "comment":
            line.level = _comment_level(line, stacks[index])
        elif line.kind != "blank":
            following = line


def _comment_level(line: _Line, stack: list[int]) -> int:
    # A comment sits at least as deep as the code below it, deeper only when its indentation
    # says it closes the block above; inside a continued expression it takes that level.
    after = line.next_code
    if after is not None and after.kind == "cont":
        return after.level
    floor = after.level if after is not None else 0
    fitting = [level for level, indent in enumerate(stack) if indent <= line.indent]
    return max([floor, *fitting])


def _render(lines: list[_Line]) -> str:
    """Emit the lines at their levels, collapsing and inserting blank lines."""
    out: list[str] = []
    prev: _Line | None = None  # previous non-blank line
    last_head: _Line | None = None
    had_blank = False
    for line in lines:
        if line.kind == "blank":
            had_blank = True
            continue
        if prev is not None:
            out.extend([""] * _blanks_between(prev, line, last_head, had_blank))
        out.append(INDENT * line.level + line.text)
        prev, had_blank = line, False
        if line.kind == "head":
            last_head = line
    return "\n".join(out) + "\n"


def _blanks_between(prev: _Line, line: _Line, last_head: _Line | None, had_blank: bool) -> int:
    inside = line if line.kind != "comment" else line.next_code
    if inside is not None and inside.kind == "cont":
        return 0  # never split one expression with blank lines
    if line.level > prev.level and prev.kind == "head":
        return 0  # no blank line right after a block's first line
    if line.level == 0 and not (prev.kind == "comment" and prev.level == 0):
        following = line if line.kind == "head" else line.next_code
        if _is_field(last_head) and _is_field(following):
            return int(had_blank)  # one-line `field` declarations may stay together
        return 1  # a new top-level block, or the comments leading into one
    return int(had_blank)


def _is_field(line: _Line | None) -> bool:
    return line is not None and line.level == 0 and line.first == "field"


def _join(tokens: list[tuple[str, str]], history: list[tuple[str, str]]) -> str:
    """Tokens of one line with canonical spacing; `history` ends with the code tokens before."""
    seen = list(history)
    parts: list[str] = []
    after_unary = False
    for token in tokens:
        prev = seen[-1] if seen else None
        before = seen[-2] if len(seen) > 1 else None
        if parts and not after_unary and _space_between(before, prev, token):
            parts.append(" ")
        parts.append(token[1])
        after_unary = token[1] == "-" and not _is_operand(before, prev)
        seen.append(token)
    return "".join(parts)


def _space_between(
    before: tuple[str, str] | None, prev: tuple[str, str] | None, token: tuple[str, str]
) -> bool:
    if prev is None:
        return True
    if token[1] in _NO_SPACE_BEFORE or prev[1] in _NO_SPACE_AFTER:
        return False
    # `holds("x")` is a call; `and (a or b)` is a group.
    return not (token[1] == "(" and prev[0] == "NAME" and _is_operand(before, prev))


def _is_operand(before: tuple[str, str] | None, token: tuple[str, str] | None) -> bool:
    """True when `token` ends a value, so a following `-` is binary and `(` is a call."""
    if token is None:
        return False
    kind, text = token
    if kind in _VALUE_KINDS or text in (")", "]"):
        return True
    if kind != "NAME":
        return False
    return text not in _EXPR_KEYWORDS or (before is not None and before[1] == ".")
