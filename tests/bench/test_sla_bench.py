"""Keeps bench/sla_bench.py from rotting: the due-time peers must agree on a small run, and the
minute-stepping reference must match the clock model. No timing assertions (shared CI cores)."""

from __future__ import annotations

from bench_support import load_bench


def test_small_run_agrees_and_prints_the_table(capsys) -> None:
    bench = load_bench("sla_bench")
    assert bench.main(["--calc", "500", "--reference", "20", "--skip-temporal"]) == 0
    out = capsys.readouterr().out
    for peer in ("SLA clock model", "BusinessCalendar", "minute-stepping reference"):
        assert peer in out
    assert "-> agree" in out


def test_the_reference_counts_business_minutes() -> None:
    bench = load_bench("sla_bench")
    cal = bench.clock.WorkCalendar(bench.snapshot())
    for start, seconds in bench.cases(50, seed=9):
        assert bench.stepping(cal, start, seconds) == cal.add(start, seconds)
