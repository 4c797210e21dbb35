"""Every table, imported in one place so `Base.metadata` is complete.

Import models from here (or their own modules); Alembic's env and the schema tests read
`Base.metadata` through this module.
"""

from store.audit import AuditEntry
from store.base import Base
from store.calendar import BranchTimezone, CalendarDay, CalendarWeek, CalendarYear
from store.customer import Consent, ConsentChannel, ConsentPurpose, Customer, CustomerKind, Holding
from store.event import Event
from store.journey import JourneyRun
from store.outbox import ContactDecision, Decision, Message, MessageStatus
from store.registry import Ruleset, RulesetVersion, VersionStatus
from store.sales import LeadCursor, LeadHistory, RmProfile
from store.service_desk import TicketClock, TicketEscalation, TicketExtension
from store.user import ApiKey, Role, User
from store.work import Lead, Task, Ticket

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "BranchTimezone",
    "CalendarDay",
    "CalendarWeek",
    "CalendarYear",
    "Consent",
    "ConsentChannel",
    "ConsentPurpose",
    "ContactDecision",
    "Customer",
    "CustomerKind",
    "Decision",
    "Event",
    "Holding",
    "JourneyRun",
    "Lead",
    "LeadCursor",
    "LeadHistory",
    "Message",
    "MessageStatus",
    "RmProfile",
    "Role",
    "Ruleset",
    "RulesetVersion",
    "Task",
    "Ticket",
    "TicketClock",
    "TicketEscalation",
    "TicketExtension",
    "User",
    "VersionStatus",
]
