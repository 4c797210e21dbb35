"""The renderer: sandbox, strict variables, autoescape for HTML only, caps, locales, versions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from delivery.templates import Renderer, RenderError

CUSTOMER = {"name": "<b>张三</b>", "title": "先生"}


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
        ("loop", "time limit"),
        ("big", "exceeds 100000 characters"),
        ("times", "repetition too large"),
        ("power", "exponent too large"),
        ("escape", "unsafe"),
        ("mutate", "unsafe"),
        ("broken", "broken.txt"),
    ],
)
def test_the_sandbox_and_its_caps_refuse(root, name, message):
    renderer = Renderer(root, timeout_ms=100)
    started = time.monotonic()
    with pytest.raises(RenderError, match=message):
        renderer.render("sms", name, "zh_CN", {"customer": CUSTOMER})
    assert time.monotonic() - started < 2


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
