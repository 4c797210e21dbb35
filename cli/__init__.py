"""rulebank's command line: `rulebank check | compile | fmt` today, operations commands later.

The CLI is a thin composition layer: each command group lives in its own module and only calls
public package APIs (`dsl` for rule files), so anything it can do the API can do too.
"""
