"""Fixtures for the runtime tests: a plan under a ruleset name of the test's own.

The tests run against the real Temporal dev server of tests/conftest.py (`temporal`: one per
test module, a task queue per test); the unique ruleset name keeps the schedules a test creates
apart from every other test's.
"""

from __future__ import annotations

import uuid

import pytest
from runtime_samples import shipped_plan, variant

from dsl.plan_ops import Plan


@pytest.fixture
def plan() -> Plan:
    """The retail plan under a ruleset name unique to this test."""
    return variant(shipped_plan(), ruleset=f"t_{uuid.uuid4().hex[:10]}")
