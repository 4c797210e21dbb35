"""The formatter: golden layouts, idempotence, comments kept, compiled plan unchanged.

Golden pairs live in tests/golden/fmt: `<name>.in.rules` is hand-written messy input and
`<name>.out.rules` its canonical layout, reviewed in the diff. After an intended layout change
regenerate them with (then review the diff)
    for f in tests/golden/fmt/*.in.rules; do
        .venv/bin/rulebank fmt - < "$f" > "${f%.in.rules}.out.rules"; done
Every rule file in rulesets/ is also formatted and held to the same invariants.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.compiler import compile_source
from dsl.errors import DslError
from dsl.formatter import format_source

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "fmt"
PAIRS = sorted(GOLDEN.glob("*.in.rules"))
RULESETS = sorted((ROOT / "rulesets").glob("*.rules"))
ALL_FILES = PAIRS + [p.with_name(p.name.replace(".in.", ".out.")) for p in PAIRS] + RULESETS
STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_golden_files_exist():
    assert len(PAIRS) >= 4


@pytest.mark.parametrize("source_path", PAIRS, ids=_ids(PAIRS))
def test_golden_layout(source_path: Path):
    expected = _read(source_path.with_name(source_path.name.replace(".in.", ".out.")))
    assert format_source(_read(source_path), source_path.name) == expected


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_idempotent(path: Path):
    once = format_source(_read(path), path.name)
    assert format_source(once, path.name) == once


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_plan_hash_unchanged(path: Path):
    source = _read(path)
    formatted = format_source(source, path.name)
    before = compile_source(source, path.name).plan.hash
    assert compile_source(formatted, path.name).plan.hash == before


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_only_whitespace_changes(path: Path):
    source = _read(path)
    formatted = format_source(source, path.name)
    assert "".join(formatted.split()) == "".join(source.split())
    # Strings exactly; comments exactly but for trailing spaces.
    kept = [t.rstrip() for t in STRING_OR_COMMENT.findall(source)]
    assert [t.rstrip() for t in STRING_OR_COMMENT.findall(formatted)] == kept


@pytest.mark.parametrize("path", RULESETS, ids=_ids(RULESETS))
def test_shipped_rulesets_are_formatted(path: Path):
    assert format_source(_read(path), path.name) == _read(path), "run `make fmt`"


def _fmt(text: str) -> str:
    return format_source(text, "t.rules")


def test_indentation_becomes_two_spaces_per_level():
    source = (
        'ruleset r\n    title "t"\ncampaign c\n        audience customers\n        send sms "x"\n'
    )
    assert _fmt(source) == (
        'ruleset r\n  title "t"\n\ncampaign c\n  audience customers\n  send sms "x"\n'
    )


def test_nested_blocks_and_else():
    source = (
        "ruleset r\n\njourney j\n   on event transfer.completed\n"
        "   if event.amount > 1\n         wait 1 day\n   else\n         exit\n"
    )
    assert _fmt(source) == (
        "ruleset r\n\njourney j\n  on event transfer.completed\n"
        "  if event.amount > 1\n    wait 1 day\n  else\n    exit\n"
    )


def test_first_line_indentation_is_dropped():
    assert _fmt('   ruleset r\n  title "t"') == 'ruleset r\n  title "t"\n'


def test_whitespace_crlf_and_final_newline():
    source = 'ruleset r  \r\n  title "a  b"   \r\n  owner "o"\t'
    assert _fmt(source) == 'ruleset r\n  title "a  b"\n  owner "o"\n'


@pytest.mark.parametrize(
    ("messy", "canonical"),
    [
        ("customer.total_assets>=50_000", "customer.total_assets >= 50_000"),
        ("customer . total_assets  ==  - 1", "customer.total_assets == -1"),
        ("customer.level-1>2*(3+ -4)", "customer.level - 1 > 2 * (3 + -4)"),
        ("- customer.level < 0", "-customer.level < 0"),
        ("customer.holds ( 'x' )".replace("'", '"'), 'customer.holds("x")'),
        ("not(customer.level==1)", "not (customer.level == 1)"),
        ('customer.tier in[ "a" ,"b" ]', 'customer.tier in ["a", "b"]'),
        ('customer.tier not in ["a"]', 'customer.tier not in ["a"]'),
        ("customer.contract_end_on<=2026-10-01", "customer.contract_end_on <= 2026-10-01"),
        ("customer.balance_growth_90d>0.2", "customer.balance_growth_90d > 0.2"),
    ],
)
def test_expression_spacing(messy: str, canonical: str):
    source = f"ruleset r\n\nsegment s\n  where {messy}\n"
    assert _fmt(source) == f"ruleset r\n\nsegment s\n  where {canonical}\n"


def test_colons_and_commas_attach_to_the_word_before():
    source = (
        'ruleset r\n\nsla s\n  applies to ticket where ticket.category == "c"\n'
        "  target urgent :first_response 2 hours ,resolution 1 business day\n"
        "  escalate\n    at 75% of first_response : notify ticket.assignee\n"
    )
    assert _fmt(source) == (
        'ruleset r\n\nsla s\n  applies to ticket where ticket.category == "c"\n'
        "  target urgent: first_response 2 hours, resolution 1 business day\n"
        "  escalate\n    at 75% of first_response: notify ticket.assignee\n"
    )


def test_continuation_lines_sit_one_level_deeper():
    source = (
        "ruleset r\n\nsegment s\n  where customer.level > 1\nand customer.level < 4\n"
        "              or customer.level == 9\n"
    )
    assert _fmt(source) == (
        "ruleset r\n\nsegment s\n  where customer.level > 1\n    and customer.level < 4\n"
        "    or customer.level == 9\n"
    )


def test_blank_lines_inside_a_condition_are_removed():
    source = "ruleset r\n\nsegment s\n  where customer.level > 1\n\n  # why\n\n  and consent.sms\n"
    assert _fmt(source) == (
        "ruleset r\n\nsegment s\n  where customer.level > 1\n    # why\n    and consent.sms\n"
    )


def test_blank_lines_collapse_and_top_level_blocks_get_exactly_one():
    source = (
        '\n\nruleset r\n  title "t"\n\n\n\n  owner "o"\nsegment a\n\n  where consent.sms\n'
        "segment b\n  where consent.sms\n\n\n"
    )
    assert _fmt(source) == (
        'ruleset r\n  title "t"\n\n  owner "o"\n\nsegment a\n  where consent.sms\n\n'
        "segment b\n  where consent.sms\n"
    )


def test_field_declarations_may_stay_together():
    source = (
        "ruleset r\nfield customer.a: number\nfield customer.b : bool\n\n\nfield customer.c: date\n"
    )
    assert _fmt(source) == (
        "ruleset r\n\nfield customer.a: number\nfield customer.b: bool\n\nfield customer.c: date\n"
    )


def test_comments_are_kept_and_placed_with_their_code():
    source = (
        '# file comment\nruleset r   #   header\n# inside the header\n  title "t"\n'
        "    # closes the header\n# leads the segment\nsegment s\n  where consent.sms\n"
    )
    assert _fmt(source) == (
        '# file comment\nruleset r  #   header\n  # inside the header\n  title "t"\n'
        "  # closes the header\n\n# leads the segment\nsegment s\n  where consent.sms\n"
    )


def test_hash_inside_a_string_is_not_a_comment():
    source = 'ruleset r\n  title   "#1 rule"   # real comment\n'
    assert _fmt(source) == 'ruleset r\n  title "#1 rule"  # real comment\n'


def test_syntax_errors_propagate():
    with pytest.raises(DslError) as caught:
        _fmt("ruleset r\n\ncampaign c\n  audience customers where = 1\n")
    assert caught.value.diagnostics[0].code.startswith("E1")


# Re-spacing a canonical file (another indentation unit, more spaces between tokens, spaces
# around punctuation) must format back to exactly the canonical text.
_RESPACEABLE = re.compile(
    r'("(?:[^"\\\n]|\\.)*"|#.*$)|( )|((?<=[A-Za-z_0-9])\.(?=[A-Za-z_])|[()\[\],])', re.MULTILINE
)


def _respace(text: str, unit: int, widths: list[int]) -> str:
    spaces = itertools.cycle(widths)

    def widen(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)  # a string or comment stays as it is
        if match.group(2):
            return " " * next(spaces)
        return " " * (next(spaces) - 1) + match.group(3) + " " * (next(spaces) - 1)

    lines = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        indent = (len(line) - len(body)) // 2 * unit
        lines.append(" " * indent + _RESPACEABLE.sub(widen, body))
    return "\n".join(lines)


@pytest.mark.parametrize("path", RULESETS + PAIRS, ids=_ids(RULESETS + PAIRS))
@settings(max_examples=10, derandomize=True, deadline=None, database=None)
@given(unit=st.integers(1, 6), widths=st.lists(st.integers(1, 4), min_size=1, max_size=8))
def test_layout_ignores_original_spacing(path: Path, unit: int, widths: list[int]):
    canonical = format_source(_read(path), path.name)
    respaced = _respace(canonical, unit, widths)
    assert format_source(respaced, path.name) == canonical
