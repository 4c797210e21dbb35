"""docs/language.md is checked against the compiler: every example it shows is what authors see.

Each ```rules block that is followed by a ```text block naming `example.rules` must compile to
exactly that text (errors and warnings, carets and hints). The template files the reference
describes (`templates/sms/zh_CN/new_card_sms.txt` followed by a ```jinja block) are laid over
a copy of the project's templates first, as the reference says they are.
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from dsl.compiler import compile_source
from dsl.diagnostics import render_all
from dsl.errors import DslError
from dsl.templates_catalog import TemplateCatalog

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "language.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
TEMPLATE_FILE = re.compile(r"`(templates/[^`]+)`[^\n]*:\n\n```jinja\n(.*?)```", re.S)


def examples() -> list[tuple[int, str, str]]:
    """(line, rule text, expected output) of every example with its output."""
    text = REFERENCE.read_text(encoding="utf-8")
    blocks = [(m.start(), m.group(1), m.group(2)) for m in BLOCK.finditer(text)]
    found = []
    for (at, kind, source), (_, next_kind, output) in itertools.pairwise(blocks):
        if kind == "rules" and next_kind == "text" and "example.rules:" in output:
            found.append((text.count("\n", 0, at) + 1, source, output))
    return found


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> TemplateCatalog:
    root = tmp_path_factory.mktemp("docs") / "templates"
    shutil.copytree(REPO / "templates", root)
    for path, body in TEMPLATE_FILE.findall(REFERENCE.read_text(encoding="utf-8")):
        target = root / path.removeprefix("templates/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return TemplateCatalog.from_directory(root)


def test_the_reference_has_examples() -> None:
    assert len(examples()) >= 80


@pytest.mark.parametrize(
    ("line", "source", "expected"), [pytest.param(*e, id=f"line{e[0]}") for e in examples()]
)
def test_each_example_renders_as_the_reference_shows(line, source, expected, catalog) -> None:
    try:
        result = compile_source(source, "example.rules", catalog)
        shown = render_all(result.warnings, source, "example.rules")
    except DslError as error:
        shown = render_all(error.diagnostics + error.warnings, source, error.filename)
    assert shown.strip() == expected.strip(), f"docs/language.md line {line}"
