"""Helpers shared by the runtime tests (a module with a unique name, not a conftest, so test
modules can import it: `conftest` is ambiguous between test folders)."""

from __future__ import annotations

from pathlib import Path

import dsl
from dsl.plan_ops import Plan

REPO = Path(__file__).resolve().parents[2]


def shipped_plan(name: str = "retail_engagement") -> Plan:
    """The compiled plan of a shipped rule file."""
    path = REPO / "rulesets" / f"{name}.rules"
    return dsl.compile_source(path.read_text(encoding="utf-8"), path.name).plan


def variant(plan: Plan, **update) -> Plan:
    """`plan` changed by `update`, with its hash recomputed as the compiler would."""
    changed = plan.model_copy(update=update)
    return changed.model_copy(update={"hash": changed.compute_hash()})
