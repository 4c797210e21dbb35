"""Golden tests for error quality: every broken rule file renders exactly as reviewed.

Each tests/dsl/broken/NAME.rules is one realistic authoring mistake (a few combine several).
Its golden tests/golden/diagnostics/NAME.txt holds `render_all(errors + warnings)` as the
author would see it, then one result line (format in tests/golden/README.md). Files whose
name starts with `tpl_` are compiled against the small catalog in tests/dsl/broken_templates/.
The E901 inputs (too big to commit) and a text with an unpaired surrogate (only JSON can carry
one) are generated here. Regenerate with `--update-goldens` and review every changed caret and
hint in the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl.compiler import compile_source
from dsl.diagnostics import render_all
from dsl.errors import Diagnostic, DslError
from dsl.parser import MAX_LINES, MAX_SOURCE_BYTES
from dsl.templates_catalog import TemplateCatalog

HERE = Path(__file__).parent
BROKEN = HERE / "broken"
GOLDEN = HERE.parent / "golden" / "diagnostics"
DSL = HERE.parent.parent / "dsl"
CATALOG = TemplateCatalog.from_directory(HERE / "broken_templates")
# Codes no rule file can trigger; test_parser.py and test_checker.py cover them directly.
UNREACHABLE_FROM_TEXT = {"E100", "E105", "E219"}


def _too_large() -> str:
    block = '\nsegment s{0}\n  title "{1}"\n  where customer.level >= 1\n'
    segments = "".join(block.format(i, "大" * 40) for i in range(MAX_SOURCE_BYTES // 150))
    return "ruleset huge\n" + segments


def _too_many_lines() -> str:
    return "ruleset long\n" + "# 备注\n" * MAX_LINES


def _surrogate_from_json() -> str:
    # JSON may carry "\ud800" escapes that no UTF-8 file can hold.
    return 'ruleset api_upload\n  title "生日\ud83c"\n'


GENERATED = {
    "e901_too_large": _too_large,
    "e901_too_many_lines": _too_many_lines,
    "surrogate_from_json": _surrogate_from_json,
}
CASES = sorted([path.stem for path in BROKEN.glob("*.rules")] + list(GENERATED))


def source_of(name: str) -> str:
    """The case's text, byte for byte (CRLF files keep their line endings)."""
    if name in GENERATED:
        return GENERATED[name]()
    return (BROKEN / f"{name}.rules").read_bytes().decode("utf-8")


def outcome(name: str, source: str) -> tuple[list[Diagnostic], bool]:
    """Every diagnostic for a case, and whether it compiled."""
    catalog = CATALOG if name.startswith("tpl_") else None
    try:
        result = compile_source(source, f"{name}.rules", catalog)
    except DslError as exc:
        return [*exc.diagnostics, *exc.warnings], False
    return list(result.warnings), True


def render_case(name: str) -> str:
    """The golden text of one case: rendered diagnostics, then the result line."""
    source = source_of(name)
    diagnostics, compiled = outcome(name, source)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    result = f"result: {'compiles' if compiled else 'rejected'} ({counts})"
    body = render_all(diagnostics, source, f"{name}.rules")
    return f"{body}\n\n{result}\n" if body else f"{result}\n"


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it under `--update-goldens`."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.exists(), f"no golden {path.name}: run pytest --update-goldens and review it"
    assert actual == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", CASES)
def test_rendered_diagnostics_match_golden(name: str, update_goldens: bool) -> None:
    assert_golden(GOLDEN / f"{name}.txt", render_case(name), update_goldens)


@pytest.mark.parametrize("name", CASES)
def test_case_reports_the_code_it_is_named_after(name: str) -> None:
    source = source_of(name)
    diagnostics, compiled = outcome(name, source)
    assert diagnostics, "a broken file must produce at least one diagnostic"
    line_count = source.count("\n") + 1  # as the parser counts: "\n" only, last line partial
    for diagnostic in diagnostics:
        assert 1 <= diagnostic.span.line <= line_count, diagnostic
        assert diagnostic.span.column >= 1, diagnostic
        assert "_NL" not in diagnostic.message and "$END" not in diagnostic.message
    named = re.match(r"(?:tpl_)?([ew]\d{3})_", name)
    if named:
        code = named.group(1).upper()
        assert code in {d.code for d in diagnostics}
        # A warning file must otherwise be clean: lints only run when nothing is wrong.
        assert compiled == code.startswith("W")


def test_every_golden_belongs_to_a_case(update_goldens: bool) -> None:
    stale = {path.stem for path in GOLDEN.glob("*.txt")} - set(CASES)
    if update_goldens:
        for name in stale:
            (GOLDEN / f"{name}.txt").unlink()
        return
    assert not stale, f"goldens without a broken file: {sorted(stale)}"


def test_every_diagnostic_code_has_a_golden() -> None:
    emitted = set()
    for module in DSL.glob("*.py"):
        emitted |= set(re.findall(r'"([EW]\d{3})"', module.read_text(encoding="utf-8")))
    covered = set()
    for path in GOLDEN.glob("*.txt"):
        covered |= set(re.findall(r"(?:error|warning)\[([EW]\d{3})\]", path.read_text("utf-8")))
    assert emitted - UNREACHABLE_FROM_TEXT <= covered, sorted(emitted - covered)
    assert len(CASES) >= 45


def test_wide_characters_keep_the_caret_aligned() -> None:
    text = render_case("chinese_before_caret")
    source_line, caret_line = (line for line in text.splitlines() if "|" in line)
    # Each CJK character takes two terminal cells, so the caret sits under `customer.levle`.
    cells = sum(
        2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in source_line.split("customer.levle")[0]
    )
    assert caret_line.index("^") == cells
