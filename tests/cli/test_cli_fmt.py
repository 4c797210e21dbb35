"""`rulebank fmt`: rewriting in place, `--check` for CI, `-` for editors, errors."""

from __future__ import annotations

import stat

from cli_samples import CLEAN

from cli.main import app

MESSY = CLEAN.replace("  ", "    ").replace("customer.birthday is", "customer . birthday  is")


def test_rewrites_files_in_place(runner, write):
    path = write("rules/messy.rules", MESSY)
    write("rules/clean.rules", CLEAN)
    result = runner.invoke(app, ["fmt", "rules"])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == CLEAN
    assert result.stderr == (
        "reformatted rules/messy.rules\n1 file reformatted, 1 file left unchanged\n"
    )
    assert result.stdout == ""


def test_rewrite_keeps_the_file_mode(runner, write):
    path = write("messy.rules", MESSY)
    path.chmod(0o640)
    assert runner.invoke(app, ["fmt", "messy.rules"]).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["messy.rules"]  # no temp file left


def test_check_lists_files_that_would_change_and_changes_nothing(runner, write):
    path = write("messy.rules", MESSY)
    write("clean.rules", CLEAN)
    result = runner.invoke(app, ["fmt", "--check", "clean.rules", "messy.rules"])
    assert result.exit_code == 1
    assert result.stderr == (
        "would reformat messy.rules\n1 file would be reformatted, 1 file left unchanged\n"
    )
    assert path.read_text(encoding="utf-8") == MESSY


def test_check_passes_on_formatted_files(runner, write):
    write("clean.rules", CLEAN)
    result = runner.invoke(app, ["fmt", "--check", "clean.rules"])
    assert result.exit_code == 0
    assert result.stderr == "0 files would be reformatted, 1 file left unchanged\n"


def test_dash_reads_stdin_and_writes_stdout(runner, workdir):
    result = runner.invoke(app, ["fmt", "-"], input=MESSY)
    assert result.exit_code == 0, result.output
    assert result.stdout == CLEAN


def test_dash_with_check_prints_no_text(runner, workdir):
    result = runner.invoke(app, ["fmt", "--check", "-"], input=MESSY)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "would reformat <stdin>" in result.stderr


def test_syntax_error_leaves_the_file_alone(runner, write):
    bad = "ruleset bad\n\ncampaign c\n    audience customers where = 1\n"
    path = write("bad.rules", bad)
    result = runner.invoke(app, ["fmt", "bad.rules"])
    assert result.exit_code == 1
    assert result.stderr.startswith("bad.rules:4:")
    summary = "0 files reformatted, 0 files left unchanged, 1 file with errors\n"
    assert result.stderr.endswith(summary)
    assert path.read_text(encoding="utf-8") == bad


def test_not_utf8_exits_2(runner, write):
    write("bad.rules", b'ruleset x\n  title "\xff"\n')
    result = runner.invoke(app, ["fmt", "bad.rules"])
    assert result.exit_code == 2
    assert result.stderr == "rulebank: error: bad.rules is not UTF-8 text (byte 0xff on line 2)\n"
