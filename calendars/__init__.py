"""Business calendars: working days with official holidays and make-up workdays, and deadlines
counted in business days and hours (`calendars.business`), by name (`calendars.official`)."""

from calendars.business import BusinessCalendar, Hours, YearTable, parse_hours
from calendars.official import get_calendar, unknown_years

__all__ = ["BusinessCalendar", "Hours", "YearTable", "get_calendar", "parse_hours", "unknown_years"]
