"""Check a parsed rule file: names, types against the schema, rule structure, templates.

One pass collects every problem (sqlglot-style) instead of stopping at the first, so an author
fixes a file in one round. Expressions are lowered to typed IR on the way and kept in
`Checked.ir`, keyed by syntax node, for the compiler. Compliance lints live in dsl/lints.py.
"""

from __future__ import annotations

import difflib
import zoneinfo
from dataclasses import dataclass, field
from functools import cache

from dsl import expr as ir
from dsl import syntax as s
from dsl.errors import Diagnostic, DslError, Severity, Span
from dsl.exprcheck import ExprChecker, closest_path
from dsl.schema import BUILTIN_FIELDS, CHANNELS, DECLARABLE_TYPES, EVENT_TYPES, Field
from dsl.templates_catalog import TemplateCatalog
from dsl.types import Type

CALENDARS = ("CN", "WEEKDAYS")
CATEGORIES = ("marketing", "service")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CUSTOMER_RECIPIENTS = ("customer.relationship_manager", "customer.branch.manager")
AUDIENCE = ("customer", "consent")
DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_NAME = 64  # ruleset and rule names: the store keeps them in String(100) columns


@dataclass
class Checked:
    """A rule file that passed the checker, with the typed IR of each expression."""

    file: s.RulesetFile
    fields: dict[str, Field]
    timezone: str
    calendar: str
    ir: dict[int, ir.Expr] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)

    def expr(self, node: s.Node | None) -> ir.Expr | None:
        """The IR of a checked expression node."""
        return None if node is None else self.ir[id(node)]


def policy_category(policy: s.Policy) -> str:
    """A policy's category: its own line, else its name when that names a category
    (`policy service`), else marketing."""
    if policy.category is not None:
        return policy.category.value
    return policy.name.value if policy.name.value in CATEGORIES else "marketing"


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Checker:
    def __init__(self, file: s.RulesetFile, catalog: TemplateCatalog | None) -> None:
        self.file = file
        self.catalog = catalog
        self.diagnostics: list[Diagnostic] = []
        self.fields: dict[str, Field] = dict(BUILTIN_FIELDS)
        self.exprs = ExprChecker(self.fields, self.diagnostics)
        self.ir: dict[int, ir.Expr] = {}
        self.segments = {seg.name.value: seg for seg in file.segments}
        self.policies = {pol.name.value: pol for pol in file.policies}

    def error(self, code: str, message: str, span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    def warn(self, code: str, message: str, span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, Severity.WARNING))

    def condition(self, node: s.Node | None, entities, where: str) -> None:
        if node is not None:
            self.ir[id(node)] = self.exprs.condition(node, entities, where)

    def expr(self, node: s.Node | None) -> ir.Expr | None:
        """The IR already checked for a node."""
        return None if node is None else self.ir.get(id(node))

    def suggest_path(self, path: str, options) -> str | None:
        """A did-you-mean hint for a dotted path, comparing the last part first."""
        match = closest_path(path, list(options))
        return f"did you mean `{match}`?" if match else None

    def suggest(self, word: str, options) -> str | None:
        match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
        return f"did you mean `{match[0]}`?" if match else None

    # ----- whole file ----------------------------------------------------------------------

    def run(self) -> Checked:
        from dsl.checker_ops import check_lead, check_sla
        from dsl.checker_rules import check_campaign, check_journey
        from dsl.lints import lint

        timezone, calendar = self._header()
        self._fields()
        self._unique_names()
        for policy in self.file.policies:
            self._policy(policy)
        for segment in self.file.segments:
            if segment.where is None:
                self.error(
                    "E304",
                    f"segment `{segment.name.value}` has no `where` line",
                    segment.name.span,
                    "add `where <condition>` under it",
                )
            self.condition(segment.where, AUDIENCE, "a segment")
        for campaign in self.file.campaigns:
            check_campaign(self, campaign)
        for journey in self.file.journeys:
            check_journey(self, journey)
        for sla in self.file.slas:
            check_sla(self, sla, calendar)
        for lead in self.file.leads:
            check_lead(self, lead)
        if not any(d.is_error for d in self.diagnostics):
            lint(self)
        errors = [d for d in self.diagnostics if d.is_error]
        warnings = [d for d in self.diagnostics if not d.is_error]
        if errors:
            raise DslError(errors, self.file.source, self.file.filename, warnings)
        return Checked(self.file, self.fields, timezone, calendar, self.ir, warnings)

    def _header(self) -> tuple[str, str]:
        header = self.file.header
        timezone = header.timezone.value if header.timezone else DEFAULT_TIMEZONE
        self.timezone_name(header.timezone)
        calendar = header.calendar.value if header.calendar else "CN"
        if header.calendar:
            self.calendar_name(header.calendar)
        return timezone, calendar

    def timezone_name(self, ident: s.Ident | None) -> None:
        if ident is not None and ident.value not in _zones():
            self.error(
                "E201",
                f"unknown time zone `{ident.value}`",
                ident.span,
                _suggest_zone(ident.value) or "use an IANA name like Asia/Shanghai",
            )

    def calendar_name(self, ident: s.Ident) -> None:
        if ident.value not in CALENDARS:
            hint = self.suggest(ident.value, CALENDARS) or f"known: {', '.join(CALENDARS)}"
            self.error("E202", f"unknown calendar `{ident.value}`", ident.span, hint)

    def _fields(self) -> None:
        declared: dict[str, Span] = {}
        for decl in self.file.fields:
            path = decl.path.dotted
            if len(decl.path.parts) != 2 or decl.path.parts[0] != "customer":
                self.error(
                    "E203",
                    f"`{path}`: only customer fields can be declared",
                    decl.path.span,
                    "write `field customer.<name>: <type>`",
                )
                continue
            if path in BUILTIN_FIELDS:
                self.error(
                    "E205",
                    f"`{path}` is already a built-in field",
                    decl.path.span,
                    "remove this line; the built-in field can be used as it is",
                )
                continue
            if path in declared:
                self.error(
                    "E206",
                    f"`{path}` is declared twice",
                    decl.path.span,
                    f"the first declaration is on line {declared[path].line}; keep one",
                )
                continue
            declared[path] = decl.path.span
            type_ = DECLARABLE_TYPES.get(decl.type_name.value)
            if type_ is None:
                hint = self.suggest(decl.type_name.value, DECLARABLE_TYPES) or (
                    f"types: {', '.join(DECLARABLE_TYPES)}"
                )
                self.error(
                    "E204", f"unknown type `{decl.type_name.value}`", decl.type_name.span, hint
                )
                continue
            self.fields[path] = Field(path, type_, nullable=True, custom=True)

    def _unique_names(self) -> None:
        groups = {
            "rule": [*self.file.campaigns, *self.file.journeys, *self.file.slas, *self.file.leads],
            "segment": self.file.segments,
            "policy": self.file.policies,
        }
        self._short_enough("ruleset", self.file.header.name)
        for kind, blocks in groups.items():
            seen: dict[str, s.Ident] = {}
            for block in blocks:
                name = block.name
                self._short_enough(kind, name)
                if name.value in seen:
                    self.error(
                        "E301",
                        f"a {kind} named `{name.value}` already exists",
                        name.span,
                        f"the first is on line {seen[name.value].span.line}",
                    )
                seen.setdefault(name.value, name)

    def _short_enough(self, kind: str, name: s.Ident) -> None:
        # Names are keys in messages, tasks, journey runs and the audit log: bounded there.
        if len(name.value) > MAX_NAME:
            self.error(
                "E328",
                f"a {kind} name may have at most {MAX_NAME} characters, "
                f"`{name.value[:20]}…` has {len(name.value)}",
                name.span,
                "shorten it; the title line can say the rest",
            )

    def _policy(self, policy: s.Policy) -> None:
        self.category(policy.category)
        for cap in policy.caps:
            self.cap(cap)
        for path in policy.requires:
            known = self.fields.get(path.dotted)
            if path.parts[0] != "consent" or known is None or known.type is not Type.BOOL:
                consents = [p for p in self.fields if p.startswith("consent.")]
                self.error(
                    "E221",
                    f"`requires` takes a consent, not `{path.dotted}`",
                    path.span,
                    self.suggest_path(path.dotted, consents) or f"consents: {', '.join(consents)}",
                )

    def rule_category(self, rule) -> str:
        """A rule's category: its own, else its named policy's, else marketing."""
        if rule.category is not None:
            return rule.category.value
        named = self.policies.get(rule.policy.value) if rule.policy else None
        return policy_category(named) if named is not None else "marketing"

    def effective_policy(self, rule) -> s.Policy | None:
        """The named policy, else the policy named after the rule's category (the default)."""
        if rule.policy is not None:
            return self.policies.get(rule.policy.value)
        return self.policies.get(self.rule_category(rule))

    def category(self, ident: s.Ident | None) -> None:
        if ident is not None and ident.value not in CATEGORIES:
            self.error(
                "E318",
                f"unknown category `{ident.value}`",
                ident.span,
                "a rule is either `marketing` or `service`",
            )

    def cap(self, cap: s.Cap) -> None:
        if cap.unit.value not in ("messages", "contacts"):
            self.error(
                "E320",
                f"caps count messages, not `{cap.unit.value}`",
                cap.unit.span,
                "write e.g. `at_most 3 messages per customer per 7 days`",
            )
        if cap.per.value != "customer":
            self.error(
                "E320",
                f"caps are per customer, not per `{cap.per.value}`",
                cap.per.span,
                "write e.g. `at_most 3 messages per customer per 7 days`",
            )
        if cap.count < 1:
            self.error("E316", "a cap must allow at least one message", cap.span)
        self.duration(cap.window)
        self.exprs.fixed_seconds(cap.window)

    def duration(self, duration: s.Duration | None) -> None:
        if duration is None:
            return
        if duration.amount != duration.amount.to_integral_value() or duration.amount <= 0:
            self.error(
                "E316",
                f"`{duration}` must be a whole, positive amount",
                duration.span,
                "write e.g. `90 minutes` instead of `1.5 hours`",
            )
        else:
            self.exprs.too_long(duration)

    def channel(self, ident: s.Ident) -> bool:
        if ident.value in CHANNELS:
            return True
        hint = self.suggest(ident.value, CHANNELS) or f"channels: {', '.join(CHANNELS)}"
        self.error("E309", f"unknown channel `{ident.value}`", ident.span, hint)
        return False

    def event_type(self, name: s.Name) -> None:
        if name.dotted not in EVENT_TYPES:
            hint = self.suggest(name.dotted, EVENT_TYPES) or f"events: {', '.join(EVENT_TYPES)}"
            self.error("E308", f"unknown event `{name.dotted}`", name.span, hint)

    def recipient(self, recipient: s.Recipient, allowed_fields) -> None:
        if recipient.kind != "field" or recipient.value in allowed_fields:
            return
        hint = self.suggest_path(recipient.value, allowed_fields) or (
            "name a role instead: `role branch_manager`"
        )
        self.error(
            "E319",
            f"`{recipient.value}` is not someone a task can go to here",
            recipient.span,
            hint,
        )


def _suggest_zone(zone: str) -> str | None:
    # Compare the city within the same region: "Asia/Shanghia" -> "Asia/Shanghai", while
    # "Asia/Beijing" (not an IANA name) gets no misleading "Asia/Brunei".
    region, _, city = zone.rpartition("/")
    cities = {z.rpartition("/")[2]: z for z in _zones() if z.rpartition("/")[0] == region}
    match = difflib.get_close_matches(city, list(cities), n=1, cutoff=0.75)
    return f"did you mean `{cities[match[0]]}`?" if match else None


def check(file: s.RulesetFile, catalog: TemplateCatalog | None = None) -> Checked:
    """Check a parsed file; raises DslError carrying every error (and the warnings)."""
    return Checker(file, catalog).run()
