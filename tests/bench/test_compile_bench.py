"""Keeps bench/compile_bench.py from rotting: a small run must build a valid file and report."""

from __future__ import annotations

from bench_support import load_bench


def test_generated_ruleset_has_the_requested_size_and_unique_rules():
    bench = load_bench("compile_bench")
    source = bench.build_source(300)
    assert source.count("\n") >= 300
    names = bench.BLOCK.findall(source)
    assert len(names) == len(set(names)) > 5


def test_small_run_prints_every_phase(capsys):
    assert load_bench("compile_bench").main(["--lines", "200", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for phase in ("lark LALR parse only", "check", "compile_source (all phases)"):
        assert phase in out
