"""`rulebank check`: exit codes, compiler-style text, the JSON document, I/O errors."""

from __future__ import annotations

import json
from pathlib import Path

from cli_samples import BROKEN, CLEAN, WARNS

from cli.main import app
from dsl.compiler import compile_source


def test_clean_file_passes_with_a_summary(runner, write):
    write("clean.rules", CLEAN)
    result = runner.invoke(app, ["check", "clean.rules"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "checked 1 file: 0 errors, 0 warnings\n"


def test_warnings_are_printed_but_do_not_fail(runner, write):
    write("warns.rules", WARNS)
    result = runner.invoke(app, ["check", "warns.rules"])
    assert result.exit_code == 0
    assert "warns.rules:4:10: warning[W503]: marketing rule `promo` has no frequency cap" in (
        result.stdout
    )
    assert "warns.rules:7:3: warning[W501]" in result.stdout
    assert result.stdout.endswith("checked 1 file: 0 errors, 2 warnings\n")


def test_errors_fail_with_compiler_style_text(runner, write):
    write("broken.rules", BROKEN)
    result = runner.invoke(app, ["check", "broken.rules"])
    assert result.exit_code == 1
    assert result.stdout == (
        "broken.rules:4:28: error[E210]: unknown field `customer.total_asets`\n"
        "   4 |   audience customers where customer.total_asets > 1\n"
        "     |                            ^^^^^^^^^^^^^^^^^^^^\n"
        "     = hint: did you mean `customer.total_assets`?\n"
        "\n"
        "checked 1 file: 1 error, 0 warnings\n"
    )


def test_syntax_errors_are_reported_not_raised(runner, write):
    write("syntax.rules", "ruleset s\n\ncampaign c\n  audience customers where = 1\n")
    result = runner.invoke(app, ["check", "syntax.rules"])
    assert result.exit_code == 1
    assert result.stdout.startswith("syntax.rules:4:")
    assert "error[E1" in result.stdout


def test_directories_are_searched_recursively_in_sorted_order(runner, write):
    write("rules/b.rules", WARNS)
    write("rules/a/z.rules", CLEAN)
    write("rules/a/notes.txt", "not a rule file")
    write("rules/.hidden/skip.rules", BROKEN)
    result = runner.invoke(app, ["check", "rules", "--format", "json"])
    assert result.exit_code == 0, result.output
    files = [entry["file"] for entry in json.loads(result.stdout)["files"]]
    assert files == ["rules/a/z.rules", "rules/b.rules"]


def test_a_file_named_twice_is_checked_once(runner, write):
    write("rules/clean.rules", CLEAN)
    result = runner.invoke(app, ["check", "rules", "rules/clean.rules"])
    assert result.stdout == "checked 1 file: 0 errors, 0 warnings\n"


def test_json_document(runner, write):
    write("clean.rules", CLEAN)
    write("broken.rules", BROKEN)
    write("warns.rules", WARNS)
    args = ["check", "clean.rules", "broken.rules", "warns.rules", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["errors"], document["warnings"]) == (1, 2)
    clean, broken, warns = document["files"]
    assert clean["ok"] and len(clean["plan_hash"]) == 64 and clean["diagnostics"] == []
    assert not broken["ok"] and broken["plan_hash"] is None
    assert broken["diagnostics"] == [
        {
            "file": "broken.rules",
            "line": 4,
            "column": 28,
            "end_line": 4,
            "end_column": 48,
            "severity": "error",
            "code": "E210",
            "message": "unknown field `customer.total_asets`",
            "hint": "did you mean `customer.total_assets`?",
        }
    ]
    assert warns["ok"] and [d["code"] for d in warns["diagnostics"]] == ["W503", "W501"]


def test_plan_hash_matches_the_compiler(runner, write):
    write("clean.rules", CLEAN)
    result = runner.invoke(app, ["check", "clean.rules", "--format", "json"])
    expected = compile_source(CLEAN, "clean.rules").plan.hash
    assert json.loads(result.stdout)["files"][0]["plan_hash"] == expected


def test_not_utf8_is_a_one_line_error(runner, write):
    write("latin1.rules", 'ruleset x\n  title "caf\xe9"\n'.encode("latin-1"))
    result = runner.invoke(app, ["check", "latin1.rules"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rulebank: error: latin1.rules is not UTF-8 text (byte 0xe9 on line 2)\n"
    )


def test_missing_path_is_a_one_line_error(runner, workdir):
    result = runner.invoke(app, ["check", "nowhere.rules"])
    assert result.exit_code == 2
    assert result.stderr == "rulebank: error: nowhere.rules: no such file or directory\n"


def test_unreadable_file_is_a_one_line_error(runner, write, monkeypatch):
    write("locked.rules", CLEAN)

    def denied(self):  # tests run as root, where chmod 0 would not stop a read
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = runner.invoke(app, ["check", "locked.rules"])
    assert result.exit_code == 2
    assert result.stderr == "rulebank: error: cannot read locked.rules: Permission denied\n"
    assert "Traceback" not in result.output


def test_utf8_bom_is_accepted(runner, write):
    write("bom.rules", "\ufeff" + CLEAN)
    result = runner.invoke(app, ["check", "bom.rules"])
    assert result.exit_code == 0, result.output


def test_templates_catalog_defaults_to_the_templates_folder(runner, write, workdir):
    write("clean.rules", CLEAN)
    assert runner.invoke(app, ["check", "clean.rules"]).exit_code == 0  # no ./templates
    (workdir / "templates" / "sms").mkdir(parents=True)
    result = runner.invoke(app, ["check", "clean.rules"])
    assert result.exit_code == 1
    assert "error[E401]: no sms template named `birthday_sms`" in result.stdout


def test_templates_option_names_the_catalog(runner, write, workdir):
    write("clean.rules", CLEAN)
    write("tpl/sms/zh_CN/birthday_sms.txt", "{{ customer.name }}，生日快乐！回复TD退订")
    write("tpl/sms/en/birthday_sms.txt", "Happy birthday {{ customer.name }}! Reply STOP")
    result = runner.invoke(app, ["check", "clean.rules", "--templates", "tpl"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["check", "clean.rules", "--templates", "missing"])
    assert result.exit_code == 2
    assert result.stderr == "rulebank: error: --templates missing: no such directory\n"


def test_empty_directory_checks_nothing(runner, workdir):
    (workdir / "rulesets").mkdir()
    result = runner.invoke(app, ["check", "rulesets"])
    assert result.exit_code == 0
    assert result.stdout == "checked 0 files: 0 errors, 0 warnings\n"
