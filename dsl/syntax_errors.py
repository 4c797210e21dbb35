"""Explain a Lark syntax failure in the rule author's words: what was found, what could come
there instead, and a hint ("did you mean `schedule`?", "indent the block under ...").

Terminal names are Lark's internals (`AT_MOST`, `_NL`); this module is the one place that turns
them into text, so diagnostics never leak grammar jargon. Hints target the mistakes authors
actually make: full-width punctuation from a Chinese input method, `=` for `==`, commas in
numbers, `9am` for 09:00, a condition line that ends in `and`, a list left open.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

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
# Terminals that can start a value; when all may come next they are listed as one item.
VALUE_START = {"NAME", "NUMBER", "STRING", "DATE", "PERCENT", "TRUE", "FALSE", "LPAR", "MINUS"}
A_VALUE = 'a value (a field, a number, "text", a date, ...)'
# Terminals that may follow a value; listed as one item, they would fill the whole message.
OPERATORS = {"COMP_OP", "ADD_OP", "MUL_OP", "AND", "OR", "IN", "IS", "NOT", "BEFORE", "WITHIN"}
AN_OPERATOR = "an operator (and, or, ==, >=, in, ...)"
MAX_LISTED = 10
# Punctuation a Chinese input method produces, and what the author meant.
FULL_WIDTH = dict(zip("，：（）［］＞＜％＃", ",:()[]><%#", strict=True)) | {"＝": "=="}
CHARACTER_HINTS = {
    "=": "compare with `==`",
    "&": "join conditions with `and`",
    "|": "join conditions with `or`",
    "!": "negate with `not`; compare with `!=`",
    "'": 'strings go in double quotes: "text"',
    "\\": 'a backslash is only allowed inside "quoted text"',
    **dict.fromkeys("¥￥$€£", "amounts are plain numbers without a currency sign: 500_000"),
    **dict.fromkeys(";；。", "lines end without punctuation: remove it"),
}
WORD_HINTS = {
    "elif": "there is no `elif`: write `else`, then an indented `if` under it",
    "between": "write two conditions: `x >= 1 and x <= 9`",
    "contains": 'test products with `customer.holds("mortgage")`',
}
JOURNEY_STEPS = ("if", "wait", "exit")
UNITS = ("minute", "hour", "day", "week", "month", "year")
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
NUMBER_WORDS = {word: number for number, word in enumerate(NUMBERS, start=1)}


def diagnose_unexpected(exc: UnexpectedInput, text: str) -> Diagnostic:
    """One diagnostic for the first syntax error Lark found."""
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, text)
    if isinstance(exc, UnexpectedEOF):
        expected = _describe_all(exc.expected)
        return Diagnostic("E105", f"expected {expected}, found end of file", _end_of_text(text))
    assert isinstance(exc, UnexpectedToken)
    return _bad_token(exc, text)


def _bad_character(exc: UnexpectedCharacters, text: str) -> Diagnostic:
    span = Span(exc.line, exc.column)
    char = exc.char
    if char == '"':
        return Diagnostic(
            "E102", "this string is never closed", span, 'close it with " on the same line'
        )
    if char in "“”‘’":
        return Diagnostic(
            "E101", f"unexpected character `{char}`", span, 'use straight quotes "..." for strings'
        )
    if char in FULL_WIDTH:
        return Diagnostic(
            "E101",
            f"unexpected full-width `{char}`",
            span,
            f"type `{FULL_WIDTH[char]}` with the input method in English mode",
        )
    if char == "=":
        pair = text[max(0, exc.pos_in_stream - 1) : exc.pos_in_stream + 2]
        hint = next(
            (f"write `{op}`" for bad, op in (("=>", ">="), ("=<", "<=")) if bad in pair),
            CHARACTER_HINTS[char],
        )
        return Diagnostic("E101", "unexpected `=`", span, hint)
    if char in CHARACTER_HINTS:
        return Diagnostic("E101", f"unexpected character `{char}`", span, CHARACTER_HINTS[char])
    if char == "\ufeff" and exc.pos_in_stream == 0:
        return Diagnostic(
            "E101",
            "the file starts with an invisible byte-order mark",
            span,
            'save the file as "UTF-8" without BOM',
        )
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        return Diagnostic(
            "E101",
            f"unexpected invisible character U+{ord(char):04X}",
            span,
            "delete it; it often comes with text pasted from another program",
        )
    if char.isalpha():
        hint = 'names use English letters, digits and _ (other text only in "quotes" or # comments)'
    else:
        hint = "names use letters, digits and _; strings go in double quotes"
    return Diagnostic("E101", f"unexpected character `{char}`", span, hint)


def _bad_token(exc: UnexpectedToken, text: str) -> Diagnostic:
    token = exc.token
    expected = _expected(exc)
    span = _token_span(token, text)
    if token.type == "_INDENT":
        return Diagnostic(
            "E104",
            "unexpected indentation",
            span,
            "this line is indented deeper than the block it belongs to",
        )
    if expected == {"_INDENT"}:
        return Diagnostic(
            "E108",
            "expected an indented block",
            span,
            "the lines of this block go below it, indented by two spaces",
        )
    listed = _without_closers(expected, text[: token.start_pos or 0])
    if token.type in ("_NL", "_DEDENT") and len(listed) > 1:
        listed = listed - {"_NL"}  # never "expected end of line, found end of line"
    message = f"expected {_describe_all(listed)}, found {_found(token)}"
    return Diagnostic("E103", message, span, _hint(token, expected, text))


def _without_closers(expected: set[str], before: str) -> set[str]:
    # The LALR tables offer `)`, `]` and `,` after any value; list them only inside brackets.
    if not {"AND", "OR"} <= expected:
        return expected
    code = re.sub(r'"([^"\\\n]|\\.)*"|#[^\n]*', "", before)
    parens, squares = code.count("(") - code.count(")"), code.count("[") - code.count("]")
    drop = set()
    if parens <= 0:
        drop.add("RPAR")
    if squares <= 0:
        drop.add("RSQB")
    if parens <= 0 and squares <= 0:
        drop.add("COMMA")
    return expected - drop


def _token_span(token, text: str) -> Span:
    if token.type == "_INDENT" and token.end_line:
        # Indent tokens borrow the newline's position; point at the line they start instead.
        return Span(token.end_line, token.end_column or 1)
    if token.type == "$END" or token.line is None:
        return _end_of_text(text)
    if token.type in ("_NL", "_DEDENT"):
        # "found end of line": point just past the last thing written on that line.
        return Span(token.line, token.column or 1)
    return Span(token.line, token.column or 1, token.end_line, token.end_column)


def _end_of_text(text: str) -> Span:
    # Just past the last character that is neither blank nor part of a comment.
    lines = text.split("\n")
    for number in range(len(lines), 0, -1):
        content = lines[number - 1].split("#", 1)[0].rstrip()
        if content:
            return Span(number, len(content) + 1)
    return Span(1, 1)


def _hint(token, expected: set[str], text: str) -> str | None:
    word = str(token)
    line = text.split("\n")[token.line - 1] if token.line and token.type != "$END" else ""
    before = line[: (token.column or 1) - 1]
    if "RULESET" in expected:
        return "a rule file starts with `ruleset <name>`"
    if token.type in ("_NL", "_DEDENT", "$END"):
        return _end_of_line_hint(expected, before)
    return _number_hint(word, expected, before, line[len(before) :]) or _word_hint(word, expected)


def _number_hint(word: str, expected: set[str], before: str, after: str) -> str | None:
    if word == "," and re.search(r"\d$", before) and re.match(r",\d{3}", after):
        return "write large numbers with _ instead of commas: 50_000"
    if re.fullmatch(r"\d{3}", word) and re.search(r"\d $", before):
        return "write large numbers with _ instead of spaces: 50_000"
    if "NUMBER" in expected and word in NUMBER_WORDS:
        return f"write the number in digits: `{NUMBER_WORDS[word]}`"
    if "NUMBER" in expected and word.rstrip("s") in UNITS:
        return f"a duration is a number and a unit, e.g. `7 {word.rstrip('s')}s`"
    return None


def _word_hint(word: str, expected: set[str]) -> str | None:
    if word in JOURNEY_STEPS and "AUDIENCE" in expected:
        return f"`{word}` is a journey step; a campaign sends, creates tasks or notifies"
    if word in WORD_HINTS:
        return WORD_HINTS[word]
    if "TODAY" in expected:
        return "`is` only appears in `is today`; compare values with `==`"
    if word in ("<", "<=", ">", ">=", "==", "!=") and "AND" in expected:
        return "compare one pair at a time: `x > 1 and x < 9`"
    if word == "(" and "LSQB" in expected:
        return 'lists are written in square brackets: ["a", "b"]'
    if "PER" in expected:
        return "a cap reads like `at_most 3 messages per customer per 7 days`"
    if word.isidentifier():
        suggestion = _did_you_mean(word, expected)
        if suggestion:
            return suggestion
        if "STRING" in expected and "NAME" not in expected:
            return f'put it in double quotes: "{word}"'
    if "TIME" in expected:
        return "write times as HH:MM on a 24-hour clock, e.g. 09:00 or 21:30"
    return None


def _end_of_line_hint(expected: set[str], before: str) -> str | None:
    last = before.split("#", 1)[0].split()
    if last and last[-1] in ("and", "or"):
        return f"to continue on the next line, start that line with `{last[-1]}` instead"
    if "RSQB" in expected:
        return "the list is not closed: add `]`"
    if "RPAR" in expected:
        return "a bracket is not closed: add `)`"
    return None


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
    expected = set(expected)
    if expected - {"_INDENT", "_DEDENT"}:
        # "an indented block" only confuses a list of keywords that may start a line.
        expected -= {"_INDENT", "_DEDENT"}
    values = []
    if {"NAME", "NUMBER", "STRING", "LPAR"} <= expected:
        expected -= VALUE_START
        values = [A_VALUE]
    if {"COMP_OP", "AND", "OR"} <= expected:
        expected -= OPERATORS
        values = [AN_OPERATOR]
    names = sorted({_describe(t) for t in expected}, key=lambda d: (not d.startswith("`"), d))
    names = values + names
    if len(names) > MAX_LISTED:
        names = [*names[:MAX_LISTED], f"... ({len(names) - MAX_LISTED} more)"]
    return names[0] if len(names) == 1 else "one of: " + ", ".join(names)


def _did_you_mean(word: str, expected: set[str]) -> str | None:
    keywords = [k for k in (_keyword(t) for t in expected) if k and k.isidentifier()]
    if word.lower() in keywords and word.lower() != word:
        return f"keywords are written in lower case: `{word.lower()}`"
    match = difflib.get_close_matches(word, keywords, n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else None
