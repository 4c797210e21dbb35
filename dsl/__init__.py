"""rulebank's rule language: text -> typed AST -> checked model -> versioned, hashed Plan.

The public surface is small and every function raises only `DslError`:

    parse(source, filename)          -> ast.RulesetFile       (syntax only)
    compile_source(source, filename, catalog) -> CompileResult (parse + check + compile)
    format_source(source, filename)  -> str                   (canonical layout)

The package knows no runtime: no storage, API, workflows or activities.
"""

from dsl.errors import Diagnostic, DslError, Severity, Span

__all__ = ["Diagnostic", "DslError", "Severity", "Span", "compile_source", "format_source", "parse"]


def parse(source: str, filename: str = "<input>"):
    """Parse rule text into the typed AST; raises DslError on syntax errors."""
    from dsl.parser import parse as _parse

    return _parse(source, filename)


def compile_source(source: str, filename: str = "<input>", catalog=None):
    """Parse, check and compile; returns CompileResult(plan, warnings) or raises DslError.

    `catalog` (dsl.templates_catalog.TemplateCatalog) enables the template checks.
    """
    from dsl.compiler import compile_source as _compile

    return _compile(source, filename, catalog)


def format_source(source: str, filename: str = "<input>") -> str:
    """Canonical layout of a rule file; raises DslError if it does not parse."""
    from dsl.formatter import format_source as _format

    return _format(source, filename)
