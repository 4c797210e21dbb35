"""Keeps bench/predicate_bench.py from rotting: a tiny run must finish with every peer agreeing.
No timing assertions: rates on a shared CI machine mean nothing."""

from __future__ import annotations

from bench_support import load_bench


def test_small_run_agrees_and_prints_the_table(capsys) -> None:
    bench = load_bench("predicate_bench")
    argv = ["--records", "2000", "--rule-engine-records", "2000", "--cel-records", "300"]
    assert bench.main([*argv, "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for peer in ("hand-written lambda", "rulebank compiled", "rule-engine", "cel-python"):
        assert peer in out
    assert "-> agree" in out


def test_compiled_predicate_matches_the_hand_written_one() -> None:
    bench = load_bench("predicate_bench")
    from dsl.pyeval import compile_predicate

    ours = compile_predicate(bench.build_ir()).bind(bench.NOW, bench.TODAY)
    records = bench.make_records(5000)
    assert [ours(r) for r in records] == [bench.hand_written(r) for r in records]
