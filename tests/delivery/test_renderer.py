"""The renderer: sandbox, strict variables, autoescape for HTML only, caps, locales, versions."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from delivery.templates import Renderer, RenderError

CUSTOMER = {"name": "<b>张三</b>", "title": "先生"}


class FakeCpuClock:
    """A CPU clock that moves only when told, or by `tick` seconds at every reading."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


class Rows:
    """An iterable that counts the items a template took from it."""

    def __init__(self, n: int) -> None:
        self.n, self.taken = n, 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.taken += 1
            yield i


@pytest.fixture
def root(tmp_path: Path) -> Path:
    def write(path: str, text: str) -> None:
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    write("sms/zh_CN/hi.txt", "你好{{ customer.name }}{{ customer.title }}\n")
    write("sms/en/hi.txt", "Hi {{ customer.title }} {{ customer.name }}")
    write("sms/zh_CN/only_zh.txt", "仅中文")
    write("sms/zh_CN/soft.txt", "{% if customer.name %}{{ customer.name }}，{% endif %}您好")
    write("email/zh_CN/hi.subject.txt", "给{{ customer.name }}\n的信\n")
    write("email/zh_CN/hi.html", '<p>{{ customer.name }}</p><a href="{{ url }}">x</a>')
    write("sms/zh_CN/loop.txt", "{% for i in range(99999) %}{% for j in range(99999) %}"
                                "{% endfor %}{% endfor %}")  # fmt: skip
    write("sms/zh_CN/big.txt", "{% for i in range(50000) %}0123456789{% endfor %}")
    write("sms/zh_CN/times.txt", "{{ 'x' * 10000000 }}")
    write("sms/zh_CN/power.txt", "{{ 9 ** 999999 }}")
    write("sms/zh_CN/escape.txt", "{{ customer.__class__.__mro__ }}")
    write("sms/zh_CN/mutate.txt", "{% set l = [1] %}{{ l.append(2) }}")
    write("sms/zh_CN/broken.txt", "{% if %}")
    write("sms/zh_CN/recurse.txt", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    write("sms/zh_CN/quiet_loop.txt", "{% for a in rows %}{% for b in rows %}{% endfor %}"
                                      "{% endfor %}")  # fmt: skip
    write("sms/zh_CN/call.txt", "{{ customer.name }}{{ call() }}")
    return tmp_path


def test_text_is_not_escaped_html_is(root):
    renderer = Renderer(root)
    sms = renderer.render("sms", "hi", "zh_CN", {"customer": CUSTOMER})
    assert sms.body == "你好<b>张三</b>先生"  # single trailing newline dropped
    email = renderer.render("email", "hi", "zh_CN",
                            {"customer": CUSTOMER, "url": "https://x/?a=1&b=2"})  # fmt: skip
    assert email.body == '<p>&lt;b&gt;张三&lt;/b&gt;</p><a href="https://x/?a=1&amp;b=2">x</a>'
    assert email.subject == "给<b>张三</b> 的信"  # one line


def test_locale_falls_back_to_zh_cn(root):
    renderer = Renderer(root)
    assert renderer.render("sms", "hi", "en", {"customer": CUSTOMER}).body.startswith("Hi 先生")
    only = renderer.render("sms", "only_zh", "en", {})
    assert (only.body, only.locale) == ("仅中文", "zh_CN")
    with pytest.raises(RenderError, match="no sms template 'nope'"):
        renderer.render("sms", "nope", "en", {})


def test_strict_undefined_and_none(root):
    renderer = Renderer(root)
    with pytest.raises(RenderError, match="has no attribute 'title'"):
        renderer.render("sms", "hi", "zh_CN", {"customer": {"name": "x"}})
    with pytest.raises(RenderError, match="None"):
        renderer.render("sms", "hi", "zh_CN", {"customer": {"name": None, "title": None}})
    soft = renderer.render("sms", "soft", "zh_CN", {"customer": {"name": None}})
    assert soft.body == "您好"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("loop", r"loop.txt: render time limit exceeded \(100 ms of CPU time\)"),
        ("big", "big.txt: output exceeds 100000 characters"),
        ("times", "repetition too large"),
        ("power", "exponent too large"),
        ("escape", "unsafe"),
        ("mutate", "unsafe"),
        ("broken", "broken.txt"),
        ("recurse", "recurse.txt: maximum recursion depth exceeded"),
    ],
)
def test_the_sandbox_and_its_caps_refuse(root, name, message):
    renderer = Renderer(root, timeout_ms=100)
    started = time.monotonic()
    with pytest.raises(RenderError, match=message):
        renderer.render("sms", name, "zh_CN", {"customer": CUSTOMER})
    assert time.monotonic() - started < 2


def test_time_the_thread_spends_blocked_does_not_count(root):
    # What a busy machine does to a render: the thread waits (for a core, the GIL, I/O) and the
    # wall clock runs on. Here it waits ten times the cap, and its CPU clock barely moves.
    renderer = Renderer(root, timeout_ms=5)
    started = time.monotonic()
    context = {"customer": CUSTOMER, "call": lambda: time.sleep(0.05) or ""}
    assert renderer.render("sms", "call", "zh_CN", context).body == "<b>张三</b>"
    assert time.monotonic() - started > 0.005  # a wall-clock cap would have failed it


def test_garbage_collection_during_a_render_does_not_count(root):
    clock = FakeCpuClock()

    def a_long_collection(phase: str, info: dict) -> None:
        if phase == "start":  # after the renderer's own callback has read the clock
            clock.now += 1.0

    gc.callbacks.append(a_long_collection)
    try:
        context = {"customer": CUSTOMER, "call": lambda: str(gc.collect())[:0]}
        rendered = Renderer(root, timeout_ms=5, clock=clock).render("sms", "call", "zh_CN",
                                                                    context)  # fmt: skip
    finally:
        gc.callbacks.remove(a_long_collection)
    assert (rendered.body, clock.now) == ("<b>张三</b>", 1.0)


def test_compiling_a_template_does_not_count(root):
    clock = FakeCpuClock()
    renderer = Renderer(root, timeout_ms=5, clock=clock)
    compile_template = renderer.env.compile

    def slow_compile(*args, **kwargs):
        clock.now += 1.0
        return compile_template(*args, **kwargs)

    renderer.env.compile = slow_compile
    assert renderer.render("sms", "hi", "zh_CN", {"customer": CUSTOMER}).body.startswith("你好")


def test_a_loop_that_calls_and_prints_nothing_is_stopped_too(root):
    # 4 million iterations with nothing to check between them: each loop checks its items.
    rows = Rows(2000)
    renderer = Renderer(root, timeout_ms=10, clock=FakeCpuClock(tick=0.001))
    with pytest.raises(RenderError, match=r"quiet_loop\.txt: render time limit exceeded"):
        renderer.render("sms", "quiet_loop", "zh_CN", {"rows": rows})
    assert rows.taken < 2000


def test_loops_still_behave_like_loops(root):
    (root / "sms/zh_CN/loops.txt").write_text(
        "{% for x in xs if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}"
        "{% for x in [] %}x{% else %}none {% endfor %}"
        "{% for n in tree recursive %}[{{ n.name }}{{ loop(n.kids) }}]{% endfor %}"
    )
    tree = [{"name": "a", "kids": [{"name": "b", "kids": []}]}]
    rendered = Renderer(root).render("sms", "loops", "zh_CN", {"xs": [1, 2, 3], "tree": tree})
    assert rendered.body == "1/2:2 2/2:3 none [a[b]]"


def test_versions_name_the_content(root, tmp_path):
    first = Renderer(root).render("sms", "hi", "zh_CN", {"customer": CUSTOMER}).version
    assert first == Renderer(root).version("sms", "hi", "zh_CN")
    (root / "sms/zh_CN/hi.txt").write_text("您好{{ customer.name }}", encoding="utf-8")
    assert Renderer(root).version("sms", "hi", "zh_CN") != first
    assert Renderer(root).version("sms", "hi", "en") != first


def test_every_shipped_template_renders_for_a_full_context():
    root = Path(__file__).resolve().parents[2] / "templates"
    renderer = Renderer(root)
    customer = {"name": "张三", "title": "先生", "tier": "affluent", "relationship_manager": "rm",
                "branch_name": "上海", "masked_phone": "138****0001"}  # fmt: skip
    context = {
        "customer": customer, "bank": {"name": "示例银行", "hotline": "95500"},
        "campaign": {"name": "c", "title": "t"}, "event": {"amount": "1.00", "type": "x"},
        "ticket": {"id": "T1", "category": "complaint", "due_at": "2026-06-01 18:00"},
        "lead": {"id": "L1"}, "task": {"id": 1}, "unsubscribe_url": "https://u",
    }  # fmt: skip
    rendered = 0
    for path in sorted(root.glob("*/*/*")):
        channel, locale, name = path.parent.parent.name, path.parent.name, path.name.split(".")[0]
        if path.name.endswith(".subject.txt"):
            continue
        assert renderer.render(channel, name, locale, context).body.strip(), path
        rendered += 1
    assert rendered >= 30
