"""`rulebank compile`: the plan as JSON on stdout, diagnostics on stderr, exit codes."""

from __future__ import annotations

import json

from cli_samples import BROKEN, CLEAN, WARNS

from cli.main import app
from dsl.compiler import compile_source


def test_prints_the_plan_as_json(runner, write):
    write("clean.rules", CLEAN)
    result = runner.invoke(app, ["compile", "clean.rules"])
    assert result.exit_code == 0, result.output
    plan = compile_source(CLEAN, "clean.rules").plan
    assert json.loads(result.stdout) == plan.model_dump(mode="json")
    assert result.stdout.startswith('{\n  "')  # indent 2
    assert result.stderr == ""


def test_unicode_is_not_escaped(runner, write):
    write("zh.rules", CLEAN.replace('  timezone "Asia/Shanghai"', '  title "生日祝福"'))
    result = runner.invoke(app, ["compile", "zh.rules"])
    assert result.exit_code == 0, result.output
    assert '"生日祝福"' in result.stdout


def test_warnings_go_to_stderr_and_do_not_fail(runner, write):
    write("warns.rules", WARNS)
    result = runner.invoke(app, ["compile", "warns.rules"])
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert "warning[W501]" in result.stderr


def test_errors_go_to_stderr_with_exit_1(runner, write):
    write("broken.rules", BROKEN)
    result = runner.invoke(app, ["compile", "broken.rules"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("broken.rules:4:28: error[E210]: unknown field")


def test_reads_standard_input(runner, workdir):
    result = runner.invoke(app, ["compile", "-"], input=CLEAN)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ruleset"] == "clean"


def test_missing_file_exits_2(runner, workdir):
    result = runner.invoke(app, ["compile", "missing.rules"])
    assert result.exit_code == 2
    assert result.stderr == (
        "rulebank: error: cannot read missing.rules: No such file or directory\n"
    )


def test_help_lists_every_command(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("check", "compile", "fmt"):
        assert command in result.stdout


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("rulebank ")
