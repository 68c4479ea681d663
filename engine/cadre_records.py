"""A reserve cadre's record, read from their ``reserve_cadre`` case's event log: every year, not just this.

The case runs one workflow instance per year (DESIGN.md §2): when a year closes its data leaves the live
state, so the case data only ever holds the current year. Everything the cadre did stays in the log, as the
form data of completed tasks and the findings that arrived; this module reads it back, grouped by year,
for the cadre's file, and summarises a period of it for the biennial adjustment ("since the last
adjustment", domain.md §4). It only reads; nothing on a step's path calls it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.store.db import Database
from engine.store.models import Event

CADRE_PROCESS = "reserve_cadre"  # one case per cadre: their file
# The reserve_cadre tasks whose form data are the cadre's record (element ids of processes/reserve_cadre).
PAIRING = "pair_mentor"
TALK = "record_talk"
COURSE = "record_course"
SUPERVISION = "record_supervision"
PLAN = "plan_internships"
PLACEMENT_REVIEW = "review_placement"
UNIT_ASSESSMENT = "unit_assessment"
ASSESSMENT = "confirm_assessment"
FINDING_MESSAGE = "finding_attached"
RECORD_TYPES = (events.CASE_STARTED, events.CYCLE_STARTED, events.TASK_COMPLETED, events.MESSAGE_RECEIVED)

# The annual assessment's ratings, best first (what "the best rating in the period" means).
RATINGS = ("excellent", "competent", "basically_competent", "incompetent")


@dataclass
class CadreYear:
    """One year of a cadre in the pool; each entry is its form data plus ``at`` (when it was recorded)."""

    number: int
    started: datetime
    pairing: dict[str, Any] | None = None
    talks: list[dict[str, Any]] = field(default_factory=list)
    course: dict[str, Any] | None = None
    supervisions: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    placement_reviews: list[dict[str, Any]] = field(default_factory=list)
    unit_assessment: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None  # as confirmed by the organization department
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def internships(self) -> list[dict[str, Any]]:
        """The plan's placements in order, each with its review once given (reviews come in plan order)."""
        placements = [p for p in (self.plan or {}).get("placements") or [] if isinstance(p, dict)]
        return [
            {**p, **({"review": self.placement_reviews[i]} if i < len(self.placement_reviews) else {})}
            for i, p in enumerate(placements)
        ]

    @property
    def development(self) -> list[dict[str, Any]]:
        return [d for d in (self.plan or {}).get("development") or [] if isinstance(d, dict)]


@dataclass(frozen=True)
class PeriodRecord:
    """What the adjustment's decision reads about one cadre for the period since ``since``."""

    since: datetime | None
    ratings: tuple[str, ...]  # confirmed ratings recorded in the period, oldest first
    best_rating: str  # the best of them, "" when none
    latest_potential: str  # the potential of the latest of them, "" when none
    findings: int
    findings_substantiated: int
    placements_reviewed: int

    def as_data(self) -> dict[str, Any]:
        return {
            "period_start": self.since.date().isoformat() if self.since else "",
            "ratings_in_period": list(self.ratings),
            "best_rating_in_period": self.best_rating,
            "latest_potential_in_period": self.latest_potential,
            "findings_in_period": self.findings,
            "findings_substantiated_in_period": self.findings_substantiated,
            "placements_reviewed_in_period": self.placements_reviewed,
        }


def record_events(
    session: Session, case_ids: Sequence[str], since: datetime | None = None
) -> dict[str, list[Event]]:
    """The events that make up the record of each case, in order (one query for all of them)."""
    out: dict[str, list[Event]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return out
    query = select(Event).where(Event.case_id.in_(list(case_ids)), Event.type.in_(RECORD_TYPES))
    if since is not None:
        query = query.where(Event.at >= since)
    for row in session.scalars(query.order_by(Event.case_id, Event.seq)):
        out[row.case_id].append(row)
    return out


def years_of_case(db: Database, case_id: str) -> list[CadreYear]:
    """Every year of one cadre's case (the caller has checked the viewer may see the case)."""
    with db.read() as session:
        return cadre_years(record_events(session, [case_id])[case_id])


def cadre_years(rows: Iterable[Event]) -> list[CadreYear]:
    """The case's years, first to last, from its events (``case.started`` opens year 1, each
    ``cycle.started`` the next)."""
    years: list[CadreYear] = []
    for row in rows:
        payload = json.loads(row.payload_json)
        if row.type in (events.CASE_STARTED, events.CYCLE_STARTED):
            years.append(CadreYear(number=len(years) + 1, started=row.at))
            continue
        if not years:
            continue  # a record before the file was opened cannot happen; ignore rather than guess
        _add(years[-1], row.type, row.at, payload)
    return years


def period_record(rows: Iterable[Event], since: datetime | None) -> PeriodRecord:
    """Ratings, findings and placement reviews recorded at or after ``since`` (all of them when None)."""
    ratings: list[str] = []
    potential = ""
    findings = substantiated = placements = 0
    for row in rows:
        if since is not None and row.at < since:
            continue
        payload = json.loads(row.payload_json)
        element = payload.get("element_id")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        if (
            row.type == events.TASK_COMPLETED
            and element == ASSESSMENT
            and isinstance(data.get("rating"), str)
        ):
            ratings.append(data["rating"])
            potential = str(data.get("potential") or "")
        elif row.type == events.TASK_COMPLETED and element == PLACEMENT_REVIEW:
            placements += 1
        elif row.type == events.MESSAGE_RECEIVED and payload.get("name") == FINDING_MESSAGE:
            findings += 1
            substantiated += data.get("finding") == "substantiated"
    best = min(ratings, key=lambda r: RATINGS.index(r) if r in RATINGS else len(RATINGS), default="")
    return PeriodRecord(since, tuple(ratings), best, potential, findings, substantiated, placements)


def _add(year: CadreYear, type_: str, at: datetime, payload: dict[str, Any]) -> None:
    data: dict[str, Any] = payload["data"] if isinstance(payload.get("data"), dict) else {}
    entry = {**data, "at": at}
    if type_ == events.MESSAGE_RECEIVED:
        if payload.get("name") == FINDING_MESSAGE:
            year.findings.append(entry)
        return
    element = payload.get("element_id")
    if element == TALK:
        year.talks.append(entry)
    elif element == SUPERVISION:
        year.supervisions.append(entry)
    elif element == PLACEMENT_REVIEW:
        year.placement_reviews.append(entry)
    elif element == PAIRING:
        year.pairing = entry
    elif element == COURSE:
        year.course = entry
    elif element == PLAN:
        year.plan = entry
    elif element == UNIT_ASSESSMENT:
        year.unit_assessment = entry
    elif element == ASSESSMENT:
        year.assessment = entry
