"""Finding and reading rule files for the CLI, with every I/O failure turned into exit code 2.

Commands accept files and directories (every `*.rules` below a directory, sorted, hidden
directories skipped) and `-` for standard input. A file that cannot be read or is not UTF-8
stops the command with one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import typer

from dsl.templates_catalog import TemplateCatalog

STDIN = "-"
USAGE_ERROR = 2


@dataclass(frozen=True)
class SourceFile:
    name: str  # as shown in diagnostics: the path as given, or <stdin>
    text: str
    path: Path | None = None  # None for standard input


def fail(message: str) -> typer.Exit:
    """Print `rulebank: error: ...` to stderr and return the Exit(2) to raise."""
    typer.echo(f"rulebank: error: {message}", err=True)
    return typer.Exit(USAGE_ERROR)


def expand(paths: list[str]) -> list[str]:
    """Files as given plus every `*.rules` under each directory; duplicates dropped."""
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if raw == STDIN or path.is_file():
            found.append(raw)
        elif path.is_dir():
            found.extend(str(p) for p in sorted(path.rglob("*.rules")) if _visible(p, path))
        else:
            raise fail(f"{raw}: no such file or directory")
    return list(dict.fromkeys(found))


def _visible(path: Path, root: Path) -> bool:
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)


def read(name: str) -> SourceFile:
    """Read one rule file (or stdin for `-`) as UTF-8; raises Exit(2) if that is impossible."""
    try:
        if name == STDIN:
            if sys.stdin is None:
                raise fail("no standard input to read")
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
            path = None
        else:
            path = Path(name)
            data = path.read_bytes()
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except OSError as exc:
        raise fail(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start]
        raise fail(f"{name} is not UTF-8 text (byte 0x{byte:02x} on line {line})") from None
    return SourceFile("<stdin>" if path is None else name, text.removeprefix("\ufeff"), path)


def write(path: Path, text: str) -> None:
    """Replace a file's content atomically, so an interrupted `fmt` never leaves half a file."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)  # mkstemp makes 0600; keep the original
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise fail(f"cannot write {path}: {exc.strerror or exc}") from None


def catalog(option: Path | None) -> TemplateCatalog | None:
    """The template catalog: `--templates DIR`, else ./templates when present, else none."""
    if option is None:
        default = Path("templates")
        return TemplateCatalog.from_directory(default) if default.is_dir() else None
    if not option.is_dir():
        raise fail(f"--templates {option}: no such directory")
    try:
        return TemplateCatalog.from_directory(option)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read templates under {option}: {exc}") from None
