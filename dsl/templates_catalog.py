"""What the checker knows about message templates: which exist, per channel and locale, which
variables each reads, and whether a marketing SMS carries opt-out text.

Templates are parsed (never rendered) with Jinja2's own parser, so a template that reads a
variable the send context lacks is caught at check time instead of failing a campaign at 09:00.
Layout: templates/<channel>/<locale>/<name>.txt (sms, push) and <name>.html + <name>.subject.txt
(email). The catalog is an input to the checker; dsl never decides where templates live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

LOCALES = ("zh_CN", "en")
# Top-level variables the runtime puts in every render context, and customer attributes a
# template may read (personal data beyond these never reaches a template).
CONTEXT_VARIABLES = frozenset(
    {"customer", "bank", "campaign", "task", "ticket", "lead", "event", "unsubscribe_url"}
)
CUSTOMER_ATTRIBUTES = frozenset(
    {"name", "title", "tier", "relationship_manager", "branch_name", "masked_phone"}
)
OPT_OUT = re.compile(r"退订|\bSTOP\b|\bTD\b|unsubscribe", re.IGNORECASE)


@dataclass
class TemplateFile:
    path: Path
    variables: set[str] = field(default_factory=set)
    customer_attributes: set[str] = field(default_factory=set)
    has_opt_out: bool = False
    syntax_error: str | None = None


@dataclass
class TemplateCatalog:
    # (channel, name) -> locale -> parsed file(s); email keeps body and subject together.
    entries: dict[tuple[str, str], dict[str, list[TemplateFile]]] = field(default_factory=dict)

    @classmethod
    def from_directory(cls, root: str | Path) -> TemplateCatalog:
        """Scan a templates folder laid out as <channel>/<locale>/<name>.<ext>."""
        catalog = cls()
        root = Path(root)
        env = Environment()
        for path in sorted(root.glob("*/*/*")):
            if not path.is_file() or path.suffix not in (".txt", ".html"):
                continue
            channel, locale = path.parent.parent.name, path.parent.name
            name = path.name.split(".")[0]
            catalog.entries.setdefault((channel, name), {}).setdefault(locale, []).append(
                _inspect(env, path)
            )
        return catalog

    def names(self, channel: str) -> list[str]:
        """Every template name that exists for a channel."""
        return sorted(name for ch, name in self.entries if ch == channel)

    def locales(self, channel: str, name: str) -> dict[str, list[TemplateFile]]:
        return self.entries.get((channel, name), {})


def _inspect(env: Environment, path: Path) -> TemplateFile:
    text = path.read_text(encoding="utf-8")
    info = TemplateFile(path, has_opt_out=bool(OPT_OUT.search(text)))
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        info.syntax_error = f"line {exc.lineno}: {exc.message}"
        return info
    info.variables = set(meta.find_undeclared_variables(tree))
    for getattr_node in tree.find_all(nodes.Getattr):
        target = getattr_node.node
        if isinstance(target, nodes.Name) and target.name == "customer":
            info.customer_attributes.add(getattr_node.attr)
    return info
