"""Benchmark: parse + check + compile of a 2,000-line ruleset, phase by phase.

The file is built from the shipped rulesets' rules, renamed so every rule is unique, until it
reaches the requested line count. Measured side by side in one run: Lark's bare LALR parse of
the same text (the floor any Lark-based DSL pays), our parse to the typed syntax tree, the
checker, the compiler, and the whole `compile_source`; ratios against the bare parse are
printed. Run: `.venv/bin/python bench/compile_bench.py [--lines 2000] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.checker import check  # noqa: E402
from dsl.compiler import compile_checked, compile_source  # noqa: E402
from dsl.parser import _lark, parse  # noqa: E402
from dsl.templates_catalog import TemplateCatalog  # noqa: E402

BLOCK = re.compile(r"^(campaign|journey|sla|lead) (\w+)", re.M)


def build_source(lines: int) -> str:
    """A valid ruleset of at least `lines` lines made of renamed copies of shipped rules."""
    text = (ROOT / "rulesets" / "retail_engagement.rules").read_text(encoding="utf-8")
    head, _, body = text.partition("\ncampaign ")
    body = "campaign " + body
    parts = [head.rstrip("\n") + "\n"]
    copy = 0
    while sum(p.count("\n") for p in parts) < lines:
        copy += 1
        parts.append("\n" + BLOCK.sub(lambda m, c=copy: f"{m.group(1)} {m.group(2)}_{c}", body))
    return "".join(parts)


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--lines", type=int, default=2000)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args(argv)
    source = build_source(args.lines)
    catalog = TemplateCatalog.from_directory(ROOT / "templates")
    result = compile_source(source, "bench.rules", catalog)  # warm caches, prove it is valid
    tree = parse(source, "bench.rules")
    checked = check(tree, catalog)
    text = source if source.endswith("\n") else source + "\n"
    rows = [
        ("lark LALR parse only (floor)", timed(lambda: _lark().parse(text), args.repeat)),
        ("parse -> typed syntax tree", timed(lambda: parse(source, "bench.rules"), args.repeat)),
        ("check (names, types, lints)", timed(lambda: check(tree, catalog), args.repeat)),
        ("compile to sealed plan", timed(lambda: compile_checked(checked), args.repeat)),
        (
            "compile_source (all phases)",
            timed(lambda: compile_source(source, "bench.rules", catalog), args.repeat),
        ),
    ]
    floor = rows[0][1]
    print(
        f"Python {sys.version.split()[0]}; {source.count(chr(10))} lines, "
        f"{len(result.plan.rule_names())} rules; median of {args.repeat}"
    )
    print(f"{'phase':34} {'ms':>9} {'x floor':>8}")
    for name, seconds in rows:
        print(f"{name:34} {seconds * 1000:9.1f} {seconds / floor:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
