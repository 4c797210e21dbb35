"""Golden tests for the compiler: each shipped ruleset compiles, cleanly, to the reviewed plan.

rulesets/NAME.rules is compiled against the repository's templates/ catalog; its plan JSON
(indent 2, sorted keys, UTF-8 kept) must equal tests/golden/plans/NAME.plan.json. A change in
meaning shows up as a reviewed diff of that file; `rulebank fmt` alone must never change it.
Regenerate with `pytest tests/dsl/test_plan_golden.py --update-goldens`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsl.compiler import compile_source
from dsl.diagnostics import render_all
from dsl.errors import DslError
from dsl.plan import content_hash
from dsl.plan_ops import Plan
from dsl.result import CompileResult
from dsl.templates_catalog import TemplateCatalog

ROOT = Path(__file__).parents[2]
RULESETS = sorted((ROOT / "rulesets").glob("*.rules"))
GOLDEN = ROOT / "tests" / "golden" / "plans"


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.from_directory(ROOT / "templates")


def compiled(path: Path, catalog: TemplateCatalog) -> CompileResult:
    """Compile a shipped ruleset; a failure shows the rendered diagnostics."""
    source = path.read_text(encoding="utf-8")
    try:
        return compile_source(source, path.name, catalog)
    except DslError as exc:
        pytest.fail(render_all([*exc.diagnostics, *exc.warnings], source, path.name))


def plan_json(plan: Plan) -> str:
    """The golden spelling of a plan."""
    data = plan.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a golden file, or rewrite it under `--update-goldens`."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.exists(), f"no golden {path.name}: run pytest --update-goldens and review it"
    assert actual == path.read_bytes().decode("utf-8")


def test_there_are_rulesets_to_check() -> None:
    assert RULESETS, "rulesets/*.rules is empty"


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_shipped_ruleset_compiles_without_errors_or_warnings(path, catalog) -> None:
    result = compiled(path, catalog)
    source = path.read_text(encoding="utf-8")
    assert not result.warnings, render_all(result.warnings, source, path.name)


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_plan_matches_golden(path, catalog, update_goldens: bool) -> None:
    plan = compiled(path, catalog).plan
    assert_golden(GOLDEN / f"{path.stem}.plan.json", plan_json(plan), update_goldens)


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_hash_recomputed_from_the_json_matches(path, catalog) -> None:
    plan = compiled(path, catalog).plan
    data = json.loads(plan_json(plan))
    stored = data.pop("hash")
    assert stored == plan.hash == content_hash(data) == plan.compute_hash()
    assert len(plan.hash) == 64


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_plan_round_trips_through_json(path, catalog) -> None:
    plan = compiled(path, catalog).plan
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert again.compute_hash() == plan.hash
    assert plan_json(again) == plan_json(plan)


def test_every_plan_golden_belongs_to_a_ruleset(update_goldens: bool) -> None:
    names = {f"{path.stem}.plan.json" for path in RULESETS}
    stale = {path.name for path in GOLDEN.glob("*.plan.json")} - names
    if update_goldens:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"plan goldens without a ruleset: {sorted(stale)}"


def test_a_plan_sealed_by_an_earlier_compiler_keeps_its_hash() -> None:
    """Stored plans are re-checked against their approved hash at activation and rollback: a
    field added since (here `local_time`, false for this plan's schedules) must not change it."""
    sealed = ROOT / "tests/dsl/fixtures/retail_engagement_sealed_before_local_time.plan.json"
    stored = json.loads(sealed.read_text(encoding="utf-8"))
    plan = Plan.model_validate(stored)
    assert plan.compute_hash() == stored["hash"]
    assert content_hash(plan.model_dump(mode="json", exclude={"hash"})) == stored["hash"]
