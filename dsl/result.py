"""What a successful compile returns: the sealed plan and the warnings (lints) found on the way.

Warnings never block a compile; errors raise `DslError` instead of returning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl.errors import Diagnostic
from dsl.plan_ops import Plan


@dataclass(frozen=True)
class CompileResult:
    plan: Plan
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def plan_hash(self) -> str:
        return self.plan.hash
