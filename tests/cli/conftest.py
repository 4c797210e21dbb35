"""Fixtures for the CLI tests: a Typer runner and a writer for files in a temp folder.

Every test runs inside its own temporary working directory, so the default `./templates`
catalog is absent unless a test creates it. Sample rule texts live in cli_samples.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(workdir: Path) -> Callable[..., Path]:
    """write("a/b.rules", text) creates the file under the working directory."""

    def _write(name: str, text: str | bytes) -> Path:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write
