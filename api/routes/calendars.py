"""Calendar routes: official holidays and make-up workdays per year, weekly patterns, and the
time zones of branches, edited by operations without a release.

Everyone reads; only operations (admin) write, and every write is audited. After a year's table
or a weekly pattern changes, running tickets on that calendar are sent a fresh snapshot in the
background (after the response), so their due times follow the edit; `signalled` in the logs.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.permissions import allow
from api.problems import responses
from calendars import store, store_week
from calendars.official import NAMES, get_calendar
from services.actor import Actor
from services.errors import InvalidError
from services.tickets_temporal import refresh_calendar

log = logging.getLogger(__name__)
router = APIRouter(tags=["calendars"], responses=responses(404, 422))
Reader = Annotated[Actor, allow("calendars.read")]
Editor = Annotated[Actor, allow("calendars.write")]
Name = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{0,31}$", description="e.g. CN")]
Year = Annotated[int, Path(ge=1900, le=2200)]
Branch = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]


class Day(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    name: str | None = Field(default=None, max_length=64)


class YearTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holidays: list[Day] = []
    workdays: list[Day] = []  # make-up workdays


class YearOut(YearTable):
    calendar: str
    year: int
    source: str | None  # database | package | null (weekly pattern only)


class FileImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(max_length=500_000, description="CSV `date,kind,name` lines or JSON")


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = Field(max_length=64, description="an IANA name, e.g. Asia/Urumqi")


def _known(name: str) -> None:
    try:
        store.require_known(name)
    except store.CalendarDataError as exc:
        raise InvalidError(str(exc)) from None


def _guard(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except store.CalendarDataError as exc:
        raise InvalidError(str(exc)) from None


async def _refresh(app: Any, name: str) -> None:
    """Bring running tickets onto the edited calendar (a background task; failures logged)."""
    try:
        client = await app.state.temporal.get()
        count = await refresh_calendar(client, app.state.session_factory, name)
        log.info("calendar %s: %d running tickets signalled", name, count)
    except Exception as exc:
        log.warning("calendar %s: running tickets not refreshed: %s", name, exc)


def _year_out(name: str, year: int, data: store.YearData) -> dict[str, Any]:
    days = lambda found: [{"date": d, "name": n} for d, n in sorted(found.items())]  # noqa: E731
    return {
        "calendar": name,
        "year": year,
        "source": data.source,
        "holidays": days(data.holidays),
        "workdays": days(data.workdays),
    }


@router.get("/v1/calendars")
def list_calendars(session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    """Calendars with the years they know and where each year's table comes from."""
    out = []
    for name in NAMES:
        held = set(store.database_years(session, name))
        years = sorted(held | set(get_calendar(name).years))
        out.append(
            {
                "name": name,
                "years": [
                    {"year": y, "source": "database" if y in held else "package"} for y in years
                ],
            }
        )
    return out


@router.get("/v1/calendars/{name}/years/{year}", response_model=YearOut)
def get_year(name: Name, year: Year, session: SessionDep, _: Reader) -> Any:
    """The table in force for a year: holidays and make-up workdays."""
    _known(name)
    return _year_out(name, year, store.year_data(session, name, year))


@router.put("/v1/calendars/{name}/years/{year}", response_model=YearOut)
def put_year(
    request: Request,
    tasks: BackgroundTasks,
    name: Name,
    year: Year,
    body: YearTable,
    session: SessionDep,
    actor: Editor,
) -> Any:
    """Replace a year's table (it then overrides the package's); running tickets follow."""
    data = store.YearData(
        {d.date: d.name for d in body.holidays}, {d.date: d.name for d in body.workdays}, "database"
    )
    _guard(store.set_year, session, name, year, data, actor=actor.name)
    tasks.add_task(_refresh, request.app, name)
    return _year_out(name, year, store.year_data(session, name, year))


@router.post("/v1/calendars/{name}/import")
def import_file(
    request: Request,
    tasks: BackgroundTasks,
    name: Name,
    body: FileImport,
    session: SessionDep,
    actor: Editor,
) -> dict[str, Any]:
    """Import a calendar file: every year it names is replaced by the file's table."""
    _known(name)
    years = _guard(store.import_file, session, name, body.content, actor=actor.name)
    tasks.add_task(_refresh, request.app, name)
    return {"calendar": name, "years": years}


@router.post("/v1/calendars/{name}/seed")
def seed(name: Name, session: SessionDep, actor: Editor) -> dict[str, Any]:
    """Copy the package's years the database does not hold yet, for review and editing."""
    _known(name)
    return {"calendar": name, "years": store.seed(session, name, actor=actor.name)}


@router.get("/v1/calendars/{name}/week")
def get_week(name: Name, session: SessionDep, _: Reader) -> dict[str, Any]:
    """The weekly pattern: per weekday null (closed), "open" (the SLA's hours) or hours."""
    _known(name)
    return {"calendar": name, "days": store_week.week(session, name)}


@router.put("/v1/calendars/{name}/week")
def put_week(
    request: Request,
    tasks: BackgroundTasks,
    name: Name,
    body: dict[str, Any],
    session: SessionDep,
    actor: Editor,
) -> dict[str, Any]:
    """Override weekdays: `{"sat": ["09:00", "12:00"], "sun": null, "mon": "open"}`."""
    days = _guard(store_week.set_week, session, name, body, actor=actor.name)
    tasks.add_task(_refresh, request.app, name)
    return {"calendar": name, "days": days}


@router.get("/v1/branches/{branch}/timezone")
def get_branch_zone(branch: Branch, session: SessionDep, _: Reader) -> dict[str, Any]:
    """The zone SLAs with `timezone from branch` count in for this branch (null: the rule's)."""
    return {"branch": branch, "timezone": store_week.branch_timezone(session, branch)}


@router.put("/v1/branches/{branch}/timezone")
def put_branch_zone(branch: Branch, body: Zone, session: SessionDep, actor: Editor) -> dict:
    """Set a branch's time zone (applies to tickets opened from now on)."""
    _guard(store_week.set_branch_timezone, session, branch, body.timezone, actor=actor.name)
    return {"branch": branch, "timezone": body.timezone}
