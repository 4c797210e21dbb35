"""Keeps bench/predicate_bench.py from rotting: a tiny run must finish with every peer agreeing.
No timing assertions: rates on a shared CI machine mean nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "predicate_bench.py"


def _load():
    spec = importlib.util.spec_from_file_location("predicate_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_run_agrees_and_prints_the_table(capsys) -> None:
    bench = _load()
    argv = ["--records", "2000", "--rule-engine-records", "2000", "--cel-records", "300"]
    assert bench.main([*argv, "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for peer in ("hand-written lambda", "rulebank compiled", "rule-engine", "cel-python"):
        assert peer in out
    assert "-> agree" in out


def test_compiled_predicate_matches_the_hand_written_one() -> None:
    bench = _load()
    from dsl.pyeval import compile_predicate

    ours = compile_predicate(bench.build_ir()).bind(bench.NOW, bench.TODAY)
    records = bench.make_records(5000)
    assert [ours(r) for r in records] == [bench.hand_written(r) for r in records]
