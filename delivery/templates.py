"""Message rendering: sandboxed Jinja2 with strict variables and hard caps on time and size.

Templates live in `templates/<channel>/<locale>/<name>.txt` (sms, push, notify) and
`templates/email/<locale>/<name>.subject.txt` + `.html`. They render in an
`ImmutableSandboxedEnvironment` with `StrictUndefined` (an unknown variable is an error, never
an empty string) and autoescape for `.html`. The sandbox is not the whole defence (Jinja's own
advice): every call, every loop and `*`/`**` check a deadline and size, output is generated
in chunks and cut off at `max_output_chars`, and a `None` reaching the output is an error
rather than the word "None" in a customer's SMS. Each template has a version (a hash of its
files), so a contact decision names exactly what was rendered.

The deadline counts the rendering thread's CPU time spent on the template, without loading and
compiling it and without garbage collection: a busy machine, a wait for the GIL or a collection
of the whole heap do not make a message late, so a breach is a property of the template and its
context, and failing it permanently (like a size breach) loses nothing a retry would save.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

DEFAULT_LOCALE = "zh_CN"
MAX_POWER = 64  # `**` beyond this is never a legitimate message computation
LOOP_CHECK = 100  # loop items between deadline checks (a check is a ~0.4 µs system call)


class RenderError(Exception):
    """A template that cannot render for this context (missing variable, cap exceeded, ...)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    body: str
    subject: str | None
    locale: str  # the locale actually used (after fallback)
    version: str  # sha256 prefix over the template files


_limits = threading.local()  # per-thread: activities render in a thread pool


def _deadline_exceeded() -> None:
    deadline = getattr(_limits, "deadline", None)
    # The thread's CPU time, not the wall clock: a loaded machine or a GIL wait must not fail
    # an innocent message, while a runaway template burns CPU and is stopped.
    if deadline is not None and _limits.clock() > deadline:
        raise RenderError(f"render time limit exceeded ({_limits.timeout_ms} ms of CPU time)")


def _exclude_gc(phase: str, info: dict[str, Any]) -> None:
    # A collection runs in whichever thread happens to allocate and costs what the whole heap
    # costs (tens to hundreds of ms in a big worker), not what the template does.
    if getattr(_limits, "deadline", None) is None:
        return
    if phase == "start":
        _limits.gc_started = _limits.clock()
    elif (started := getattr(_limits, "gc_started", None)) is not None:
        _limits.deadline += _limits.clock() - started
        _limits.gc_started = None


gc.callbacks.append(_exclude_gc)


def _finalize(value: Any) -> Any:
    # A missing value must not print as "None" in front of a customer.
    if value is None:
        raise RenderError("a variable rendered as None")
    return value


class _CheckedLoops(CodeGenerator):
    """Compiles `{% for x in xs %}` as a loop over `environment.checked_iter(xs)`: a loop that
    calls nothing and prints nothing would otherwise never reach a deadline check."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        at = {"lineno": node.lineno}
        items = nodes.Call(nodes.EnvironmentAttribute("checked_iter"), [node.iter], [], None,
                           None, **at)  # fmt: skip
        loop = nodes.For(node.target, items, node.body, node.else_, node.test, node.recursive,
                         **at)  # fmt: skip
        super().visit_For(loop, frame)


class CappedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus deadline checks on calls and loops and size checks on `*`
    and `**`."""

    intercepted_binops = frozenset({"*", "**"})
    code_generator_class = _CheckedLoops

    def checked_iter(self, items: Iterable[Any]) -> Iterator[Any]:
        """`items`, checking the deadline every `LOOP_CHECK` of them (first one included)."""
        for count, item in enumerate(items):
            if not count % LOOP_CHECK:
                _deadline_exceeded()
            yield item

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _deadline_exceeded()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _deadline_exceeded()
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > getattr(_limits, "max_chars", 0):
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


class Renderer:
    """Loads, caches and renders the templates under `root`; safe to share between threads."""

    def __init__(self, root: str | Path, *, timeout_ms: int = 50, max_chars: int = 100_000,
                 clock: Callable[[], float] = time.thread_time) -> None:  # fmt: skip
        self.root = Path(root)
        self.timeout_ms, self.max_chars, self.clock = timeout_ms, max_chars, clock
        self.env = CappedSandbox(
            loader=FileSystemLoader(str(self.root)),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html")),
            finalize=_finalize,
            auto_reload=False,  # templates change with a release; versions are cached with them
        )
        self._versions: dict[tuple[str, ...], str] = {}
        self._locales: dict[tuple[str, str, str | None], str] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> Renderer:
        """A renderer for `settings.templates_dir` with the delivery caps."""
        delivery = settings.delivery
        return cls(
            settings.templates_dir,
            timeout_ms=delivery.render_timeout_ms,
            max_chars=delivery.max_output_chars,
        )

    def files(self, channel: str, name: str, locale: str) -> list[str]:
        """The loader names of a template's files: [subject, html] for email, else [text]."""
        if channel == "email":
            return [f"email/{locale}/{name}.subject.txt", f"email/{locale}/{name}.html"]
        return [f"{channel}/{locale}/{name}.txt"]

    def resolve_locale(self, channel: str, name: str, locale: str | None) -> str:
        """`locale` if the template exists in it, else the default locale (or RenderError)."""
        key = (channel, name, locale)
        if key not in self._locales:
            self._locales[key] = self._find_locale(channel, name, locale)
        return self._locales[key]

    def _find_locale(self, channel: str, name: str, locale: str | None) -> str:
        for candidate in dict.fromkeys((locale or DEFAULT_LOCALE, DEFAULT_LOCALE)):
            if all((self.root / f).is_file() for f in self.files(channel, name, candidate)):
                return candidate
        raise RenderError(f"no {channel} template {name!r} in {locale!r} or {DEFAULT_LOCALE!r}")

    def version(self, channel: str, name: str, locale: str) -> str:
        """A short content hash of the template's files in `locale`."""
        key = (channel, name, locale)
        if key not in self._versions:
            digest = hashlib.sha256()
            for file in self.files(channel, name, locale):
                digest.update((self.root / file).read_bytes())
            self._versions[key] = digest.hexdigest()[:16]
        return self._versions[key]

    def render(self, channel: str, name: str, locale: str | None, context: dict) -> Rendered:
        """Render one message; RenderError when the template cannot render within the caps."""
        used = self.resolve_locale(channel, name, locale)
        parts = [self._render_file(file, context) for file in self.files(channel, name, used)]
        if channel == "email":
            subject = " ".join(parts[0].split())  # one line: headers must not carry newlines
            return Rendered(parts[1], subject, used, self.version(channel, name, used))
        return Rendered(parts[0], None, used, self.version(channel, name, used))

    def _render_file(self, file: str, context: dict) -> str:
        try:
            # Loading and compiling happen once per template and worker: not the message's cost.
            template = self.env.get_template(file)
            _limits.clock, _limits.timeout_ms = self.clock, self.timeout_ms
            _limits.max_chars = self.max_chars
            _limits.deadline = self.clock() + self.timeout_ms / 1000
            chunks, size = [], 0
            for chunk in template.generate(context):
                size += len(chunk)
                if size > self.max_chars:
                    raise RenderError(f"output exceeds {self.max_chars} characters")
                _deadline_exceeded()
                chunks.append(chunk)
            return "".join(chunks)
        except TemplateNotFound as exc:
            raise RenderError(f"template {exc.name} not found") from None
        # A macro calling itself is the template's fault too: a failed message, not a crash of
        # the page that Temporal would retry for ever.
        except (RenderError, TemplateError, ArithmeticError, TypeError, ValueError,
                RecursionError) as exc:  # fmt: skip
            raise RenderError(f"{file}: {exc}") from None
        finally:
            _limits.deadline = None
