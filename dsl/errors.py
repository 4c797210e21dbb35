"""The DSL's one error family: a `Diagnostic` per problem and a `DslError` that carries them all.

Every phase (parse, check, compile) reports through these types, so callers catch exactly one
exception and render it once. Codes are stable: E1xx syntax, E2xx names and types, E3xx rule
structure, E4xx templates, W5xx compliance lints, E9xx limits. docs/language.md lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based line/column position in a source file; `end_column` is exclusive."""

    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    @property
    def width(self) -> int:
        if self.end_line not in (None, self.line) or self.end_column is None:
            return 1
        return max(1, self.end_column - self.column)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass
class DslError(Exception):
    """Raised when a rule file has at least one error; carries every diagnostic found."""

    diagnostics: list[Diagnostic]
    source: str = ""
    filename: str = "<input>"
    warnings: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    def summary(self) -> str:
        first = self.diagnostics[0] if self.diagnostics else None
        if first is None:
            return "rule file has errors"
        more = len(self.diagnostics) - 1
        tail = f" ... and {more} more" if more else ""
        where = f"{self.filename}:{first.span.line}:{first.span.column}"
        return f"{where}: {first.code} {first.message}{tail}"

    def __str__(self) -> str:
        return self.summary()
