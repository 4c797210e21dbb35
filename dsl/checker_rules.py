"""Checks for the customer-facing rules: campaigns, journeys, their actions and templates.

Audiences may read only customer and consent fields because they compile to SQL; journey
entry and branch conditions may also read the triggering event.
"""

from __future__ import annotations

from dsl import syntax as s
from dsl.checker import AUDIENCE, CUSTOMER_RECIPIENTS, WEEKDAYS, Checker
from dsl.templates_catalog import CONTEXT_VARIABLES, CUSTOMER_ATTRIBUTES, LOCALES
from dsl.types import Type

JOURNEY_CONTEXT = ("customer", "consent", "event")


def check_campaign(checker: Checker, campaign: s.Campaign) -> None:
    """Names, audience, schedule, actions and caps of one campaign."""
    name = campaign.name.value
    if campaign.audience is None:
        checker.error(
            "E304",
            f"campaign `{name}` has no audience",
            campaign.name.span,
            "add `audience customers where ...` or `audience <segment>`",
        )
    else:
        segment = campaign.audience.segment
        if segment is not None and segment.value not in checker.segments:
            checker.error(
                "E302",
                f"unknown segment `{segment.value}`",
                segment.span,
                checker.suggest(segment.value, checker.segments)
                or "declare it with `segment <name>` first",
            )
        checker.condition(campaign.audience.where, AUDIENCE, "an audience")
    if campaign.schedule is not None:
        _schedule(checker, campaign.schedule)
    _common(checker, campaign)
    if not campaign.actions:
        checker.error(
            "E306",
            f"campaign `{name}` does nothing",
            campaign.name.span,
            'add an action such as `send sms "template"`',
        )
    for action in campaign.actions:
        check_action(checker, action, AUDIENCE)


def check_journey(checker: Checker, journey: s.Journey) -> None:
    """Trigger, conditions, exits and steps of one journey."""
    name = journey.name.value
    if journey.trigger is None:
        checker.error(
            "E307",
            f"journey `{name}` has no trigger",
            journey.name.span,
            "add `on event <type> [where ...]`",
        )
    else:
        checker.event_type(journey.trigger.event)
        checker.condition(journey.trigger.where, ("event",), "an event filter")
    checker.condition(journey.when, JOURNEY_CONTEXT, "a journey condition")
    for rule in journey.exits:
        if rule.event is not None:
            checker.event_type(rule.event)
            checker.condition(rule.condition, ("event",), "an event filter")
        else:
            checker.condition(rule.condition, AUDIENCE, "an exit condition")
    _common(checker, journey)
    if not journey.steps:
        checker.error(
            "E306",
            f"journey `{name}` does nothing",
            journey.name.span,
            'add steps such as `wait 1 day` and `send push "template"`',
        )
    _steps(checker, journey.steps)


def _common(checker: Checker, rule) -> None:
    if rule.policy is not None and rule.policy.value not in checker.policies:
        checker.error(
            "E303",
            f"unknown policy `{rule.policy.value}`",
            rule.policy.span,
            checker.suggest(rule.policy.value, checker.policies)
            or "declare it with `policy <name>` first",
        )
    checker.category(rule.category)
    for cap in rule.caps:
        checker.cap(cap)
    if rule.reentry is not None:
        checker.duration(rule.reentry.after)


def _steps(checker: Checker, steps) -> None:
    for step in steps:
        if isinstance(step, s.Wait):
            checker.duration(step.duration)
        elif isinstance(step, s.WaitEvent):
            checker.event_type(step.event)
            checker.condition(step.where, ("event",), "an event filter")
            checker.duration(step.timeout)
            _steps(checker, step.on_timeout)
        elif isinstance(step, s.If):
            checker.condition(step.condition, JOURNEY_CONTEXT, "a condition")
            _steps(checker, step.then)
            _steps(checker, step.otherwise)
        elif not isinstance(step, s.Exit):
            check_action(checker, step, JOURNEY_CONTEXT)


def _schedule(checker: Checker, schedule: s.Schedule) -> None:
    for day in schedule.weekdays:
        if day.value not in WEEKDAYS:
            checker.error(
                "E310",
                f"unknown weekday `{day.value}`",
                day.span,
                checker.suggest(day.value, WEEKDAYS) or "write monday ... sunday",
            )
    if schedule.day_of_month is not None and not 1 <= schedule.day_of_month <= 28:
        checker.error(
            "E311",
            f"day {schedule.day_of_month} does not exist in every month"
            if schedule.day_of_month > 28
            else f"day {schedule.day_of_month} is not a day of the month",
            schedule.span,
            "pick a day from 1 to 28",
        )
    if schedule.date_field is not None:
        field = checker.fields.get(schedule.date_field.dotted)
        if (
            field is None
            or field.type not in (Type.DATE, Type.ANNIVERSARY)
            or (not schedule.date_field.dotted.startswith("customer."))
        ):
            checker.error(
                "E321",
                f"`{schedule.date_field.dotted}` is not a customer date",
                schedule.date_field.span,
                "e.g. `on customer.birthday at 09:00`",
            )


def check_action(checker: Checker, action, context) -> None:
    """A send, task or notify step; templates are checked against the catalog."""
    if isinstance(action, s.Send):
        if checker.channel(action.channel):
            check_template(checker, action.channel.value, action.template)
    elif isinstance(action, s.Task):
        checker.recipient(action.assignee, CUSTOMER_RECIPIENTS)
        if action.escalate_to is not None:
            checker.recipient(action.escalate_to, CUSTOMER_RECIPIENTS)
        checker.duration(action.due)
        checker.condition(action.cancel_when, AUDIENCE, "a cancel condition")
    elif isinstance(action, s.Notify):
        checker.recipient(action.recipient, CUSTOMER_RECIPIENTS)
        if action.template is not None:
            check_template(checker, "notify", action.template)


def check_template(checker: Checker, channel: str, template: s.Ident) -> None:
    """The template exists in every locale and reads only variables the context has."""
    catalog = checker.catalog
    if catalog is None:
        return
    locales = catalog.locales(channel, template.value)
    if not locales:
        checker.error(
            "E401",
            f"no {channel} template named `{template.value}`",
            template.span,
            checker.suggest(template.value, catalog.names(channel))
            or f"add templates/{channel}/<locale>/{template.value}.*",
        )
        return
    for locale in LOCALES:
        if locale not in locales:
            checker.error(
                "E402",
                f"template `{template.value}` has no {locale} version",
                template.span,
                f"add templates/{channel}/{locale}/{template.value}.*",
            )
    # One diagnostic per unknown name, naming every locale that uses it (not one per file).
    unknown: dict[tuple[str, str], set[str]] = {}
    for locale, files in sorted(locales.items()):
        for info in files:
            if info.syntax_error:
                checker.error(
                    "E404",
                    f"template `{template.value}` ({locale}) does not parse: {info.syntax_error}",
                    template.span,
                    f"fix templates/{channel}/{locale}/{info.path.name}",
                )
            for name in info.variables - CONTEXT_VARIABLES:
                unknown.setdefault(("variable", name), set()).add(locale)
            for attr in info.customer_attributes - CUSTOMER_ATTRIBUTES:
                unknown.setdefault(("customer", attr), set()).add(locale)
    for (kind, name), used_in in sorted(unknown.items()):
        where = f"template `{template.value}` ({', '.join(sorted(used_in))})"
        if kind == "variable":
            message = f"{where} uses unknown variable `{name}`"
            options = CONTEXT_VARIABLES
        else:
            message = f"{where} reads `customer.{name}`, which templates cannot see"
            options = CUSTOMER_ATTRIBUTES
        hint = checker.suggest(name, options) or f"available: {', '.join(sorted(options))}"
        checker.error("E403", message, template.span, hint)
