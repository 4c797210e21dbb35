"""Keeps bench/compile_bench.py from rotting: a small run must build a valid file and report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "compile_bench.py"


def _load():
    spec = importlib.util.spec_from_file_location("compile_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_ruleset_has_the_requested_size_and_unique_rules():
    bench = _load()
    source = bench.build_source(300)
    assert source.count("\n") >= 300
    names = bench.BLOCK.findall(source)
    assert len(names) == len(set(names)) > 5


def test_small_run_prints_every_phase(capsys):
    assert _load().main(["--lines", "200", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for phase in ("lark LALR parse only", "check", "compile_source (all phases)"):
        assert phase in out
