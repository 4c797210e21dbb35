"""Robustness: no input, however mangled, gets anything but a CompileResult or a DslError.

Two kinds of input: (a) random text, from plain Unicode to a soup of the language's own
keywords, symbols and indentation (the inputs most likely to reach deep parser states); (b) the
shipped rulesets and tests/dsl/fixtures/sketch.rules after random edits of the kind an editor
session makes: lines deleted, duplicated, swapped, re-indented, tokens and characters inserted,
the file cut short; (c) whole blocks spliced across the shipped and the broken files, which is
mostly well-formed text with odd meaning for the checker and compiler. Every DslError must point
inside the file and render; an internal error (E100) counts as a failure.
"""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.lexer import PatternStr

from dsl.compiler import compile_source
from dsl.diagnostics import as_json, render, render_all
from dsl.errors import DslError
from dsl.parser import _lark
from dsl.templates_catalog import TemplateCatalog

ROOT = Path(__file__).parents[2]
SEEDS = [
    path.read_text(encoding="utf-8")
    for path in [
        *sorted((ROOT / "rulesets").glob("*.rules")),
        ROOT / "tests/dsl/fixtures/sketch.rules",
    ]
]
CATALOG = TemplateCatalog.from_directory(ROOT / "templates")

# Every keyword of the grammar, plus words that are names in one place and keywords in another.
KEYWORDS = sorted(
    {t.pattern.value for t in _lark().terminals if isinstance(t.pattern, PatternStr)}
    | {"customer", "consent", "ticket", "marketing", "service", "messages", "monday", "sms"}
)
# fmt: off
SYMBOLS = [
    "==", "!=", ">=", "<", "=", ":", ",", ".", "(", ")", "[", "]", "+", "-", "*", "/", "%", "#",
    '"', '"text"', '"未闭合', "“", "，", "：", "_", "\\", "09:00", "25:00", "2026-02-30",
    "2026-10-01", "50_000", "1.5", "0", "75%", "150%", "3 days", "2 business hours",
    "customer.total_assets", "customer.birthday", "consent.sms", "event.amount", "ticket.status",
    "lead.status", "customer.holds", "客户",
]
# fmt: on
BREAKS = ["\n", "\n  ", "\n    ", "\n      ", "\n\t", "\r\n", "\n\n", " ", " ", " "]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_outcome(source: str) -> None:
    """compile_source returns or raises DslError, with diagnostics inside the file."""
    lines = source.count("\n") + 1  # lines as the parser counts them: "\n" only
    try:
        result = compile_source(source, "fuzz.rules", CATALOG)
    except DslError as exc:
        assert exc.diagnostics, "a DslError must carry at least one diagnostic"
        diagnostics = [*exc.diagnostics, *exc.warnings]
        assert any(1 <= d.span.line <= lines for d in exc.diagnostics)
    else:
        diagnostics = list(result.warnings)
        assert result.plan.hash == result.plan.compute_hash()
    for diagnostic in diagnostics:
        assert diagnostic.code != "E100", diagnostic.message
        assert 1 <= diagnostic.span.line <= lines, diagnostic
        assert diagnostic.span.column >= 1, diagnostic
        as_json(diagnostic, "fuzz.rules")
        # The rendered excerpt is the line the diagnostic names, whatever the file contains.
        shown = render(diagnostic, source, "fuzz.rules").split("\n")
        text = source.split("\n")[diagnostic.span.line - 1].removesuffix("\r").expandtabs(1)
        text = text.encode("utf-8", "replace").decode("utf-8")  # unpaired surrogates show as ?
        if text:
            assert shown[1].split(" | ", 1)[1] == text
    render_all(diagnostics, source, "fuzz.rules")


# ----- (a) random text ---------------------------------------------------------------------

TOKEN = (
    st.sampled_from(KEYWORDS)
    | st.sampled_from(SYMBOLS)
    | st.sampled_from(BREAKS)
    | st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
)
SOUP = st.lists(TOKEN, max_size=80).map(" ".join)
HEADED_SOUP = SOUP.map(lambda body: "ruleset fuzz\n" + body)
UNICODE = st.text(
    alphabet=st.characters() | st.sampled_from('\n\t \r#":\ufeff\u2028\u200b'),
    max_size=300,
)


@FUZZ
@given(st.one_of(UNICODE, st.text(string.printable, max_size=300)))
def test_random_text(source: str) -> None:
    check_outcome(source)


@FUZZ
@given(st.one_of(SOUP, HEADED_SOUP))
def test_keyword_soup(source: str) -> None:
    check_outcome(source)


# ----- (b) mutated valid rulesets ----------------------------------------------------------


@st.composite
def mutated(draw) -> str:
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "indent", "dedent", "token", "char", "truncate"]
            )
        )
        if op == "delete":
            del lines[index]
        elif op == "duplicate":
            lines.insert(index, lines[index])
        elif op == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif op == "indent":
            lines[index] = draw(st.sampled_from([" ", "  ", "    ", "\t"])) + lines[index]
        elif op == "dedent":
            lines[index] = lines[index][draw(st.integers(1, 4)) :]
        elif op in ("token", "char"):
            piece = draw(TOKEN if op == "token" else st.characters())
            at = draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:at] + piece + lines[index][at:]
        else:
            text = "\n".join(lines)
            return text[: draw(st.integers(0, len(text)))]
    return "\n".join(lines)


@FUZZ
@given(mutated())
def test_mutated_rulesets(source: str) -> None:
    check_outcome(source)


@FUZZ
@given(mutated(), st.booleans())
def test_mutated_rulesets_with_other_line_endings(source: str, crlf: bool) -> None:
    check_outcome(source.replace("\n", "\r\n") if crlf else source.rstrip("\n"))


# ----- (c) blocks spliced across files ------------------------------------------------------
# Whole blocks from valid and broken files, with lines swapped between blocks of the same kind:
# mostly well-formed text with odd meaning, which reaches the checker, lints and compiler.


def _blocks() -> tuple[list[list[str]], dict[tuple[str, int], list[str]]]:
    blocks: list[list[str]] = []
    lines: dict[tuple[str, int], list[str]] = {}
    broken = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests/dsl/broken").glob("*"))]
    for text in [*SEEDS, *broken]:
        block: list[str] | None = None
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith(("#", "ruleset")):
                continue
            if not line.startswith(" "):
                block = [line]
                blocks.append(block)
            elif block is not None:
                block.append(line)
                indent = len(line) - len(line.lstrip(" "))
                lines.setdefault((block[0].split()[0], indent), []).append(line)
    return blocks, lines


BLOCKS, LINES_BY_KIND = _blocks()


@st.composite
def spliced(draw) -> str:
    out = ["ruleset fuzz"]
    for block in draw(st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=6)):
        out.append(block[0])
        for line in block[1:]:
            pool = LINES_BY_KIND[(block[0].split()[0], len(line) - len(line.lstrip(" ")))]
            out.append(draw(st.sampled_from(pool)) if draw(st.booleans()) else line)
    return "\n".join(out) + "\n"


@FUZZ
@given(spliced())
def test_spliced_blocks(source: str) -> None:
    check_outcome(source)


def test_seeds_compile_cleanly() -> None:
    # The mutations start from valid files, or they would only exercise the first error.
    for seed in SEEDS[:-1]:
        assert not compile_source(seed, "seed.rules", CATALOG).warnings
