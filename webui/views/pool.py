"""The reserve-cadre pool (``/pool``) and a cadre's file (``/pool/<candidate>``).

The pool list is :func:`engine.pool.pool`; the file is the cadre's ``reserve_cadre`` case as
:func:`engine.case_views.case_detail` lets the viewer see it. Whoever may not open that case (the engine
decides) sees the pool's summary of the cadre only. This module only formats what the engine hands over.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cadre_records import years_of_case
from engine.case_views import CaseDetail, case_detail
from engine.errors import NotFound
from engine.pool import RATING_ORDER, PoolCadre, open_adjustment, open_vacancy, pool
from webui.context import actor, web
from webui.i18n import pick
from webui.security import role_required
from webui.views.cases import when

bp = Blueprint("pool", __name__, url_prefix="/pool")

VIEWERS = ("org_department", "party_committee", "auditor")
UNRATED = "none"  # the rating filter's value for "not assessed yet"


# Labels are built per request (``_`` needs the request's language).
def status_labels() -> dict[str, str]:
    return {
        "active": _("In the pool"),
        "used": _("Used"),
        "removed": _("Removed"),
        "withdrawn": _("Withdrawn"),
    }


def rating_labels() -> dict[str, str]:
    return {
        "excellent": _("Excellent"),
        "competent": _("Competent"),
        "basically_competent": _("Basically competent"),
        "incompetent": _("Incompetent"),
    }


def potential_labels() -> dict[str, str]:
    return {"high": _("High"), "medium": _("Medium"), "low": _("Low")}


def topic_labels() -> dict[str, str]:
    return {
        "political_thought": _("Political thought"),
        "work_performance": _("Work performance"),
        "study": _("Study"),
        "integrity": _("Integrity"),
        "family_and_life": _("Family and life"),
        "career_development": _("Career development"),
    }


def grade_labels() -> dict[str, str]:
    """Course results and supervision grades."""
    return {
        "excellent": _("Excellent"),
        "good": _("Good"),
        "pass": _("Pass"),
        "fail": _("Fail"),
        "not_attended": _("Not attended"),
        "fair": _("Fair"),
        "poor": _("Poor"),
    }


def finding_labels() -> dict[str, str]:
    return {"substantiated": _("Substantiated"), "unsubstantiated": _("Not substantiated")}


def placement_labels() -> dict[str, str]:
    """The seven kinds of internship placement (domain.md §3)."""
    return {
        "key_project": _("Key project"),
        "major_event": _("Major event"),
        "letters_and_visits": _("Letters and visits, stability"),
        "conflict_mediation": _("Conflict mediation"),
        "non_public_enterprise": _("Non-public enterprise"),
        "frontline": _("Community or rural frontline"),
        "comprehensive_department": _("Comprehensive department"),
    }


def development_labels() -> dict[str, str]:
    return {
        "secondment": _("Secondment to a higher authority"),
        "alongside_leader": _("Working alongside a leading cadre or veteran"),
        "business_training": _("Business training"),
        "further_study": _("Further study"),
        "degree": _("Degree"),
    }


def review_labels() -> dict[str, str]:
    return {"satisfactory": _("Satisfactory"), "needs_improvement": _("Needs improvement")}


STATUS_CLASS = {"active": "ok", "used": "ok", "removed": "bad", "withdrawn": "warn"}


def label(labels: dict[str, str], value: Any) -> str:
    """A value's label, the value itself (underscores as spaces) if it has none, "—" if empty."""
    if value is None or value == "":
        return "—"
    return labels.get(str(value)) or str(value).replace("_", " ")


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    count: int
    selected: bool


def _options(values: list[str], labels: dict[str, str], chosen: str, order: list[str]) -> list[Option]:
    counts = Counter(values)
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return [Option(k, labels.get(k, k), counts[k], k == chosen) for k in keys]


@bp.get("")
@role_required(*VIEWERS)
def index() -> Any:
    everyone = pool(web().db)
    unit = request.args.get("unit", "").strip()
    status = request.args.get("status", "").strip()
    rating = request.args.get("rating", "").strip()

    def rating_key(cadre: PoolCadre) -> str:
        return cadre.last_rating or UNRATED

    shown = [
        c
        for c in everyone
        if (not unit or c.unit == unit)
        and (not status or c.status == status)
        and (not rating or rating_key(c) == rating)
    ]
    ratings = {**rating_labels(), UNRATED: _("Not assessed yet")}
    filters = {
        "unit": _options([c.unit for c in everyone], {}, unit, []),
        "status": _options([c.status for c in everyone], status_labels(), status, list(status_labels())),
        "rating": _options(
            [rating_key(c) for c in everyone],
            ratings,
            rating,
            sorted(RATING_ORDER, key=lambda r: RATING_ORDER[r]),
        ),
    }
    return render_template(
        "pool.html",
        cadres=shown,
        total=len(everyone),
        filters=filters,
        chosen={"unit": unit, "status": status, "rating": rating},
        filtered=bool(unit or status or rating),
        status_labels=status_labels(),
        status_class=STATUS_CLASS,
        rating_labels=rating_labels(),
        potential_labels=potential_labels(),
        label=label,
        when=when,
        may_open="org_department" in actor().roles(),
        units=sorted({c.unit for c in pool(web().db)}),
    )


@bp.post("/adjustment")
@role_required("org_department")
def open_adjustment_view() -> Any:
    """Open the pool adjustment with every active cadre's record (compiled by the engine)."""
    raw = request.form.get("target", "").strip()
    target = int(raw) if raw.isdigit() else None
    view = open_adjustment(web().db, web().clock, actor().user_id, target)
    return _to_first_task(view)


@bp.post("/vacancy")
@role_required("org_department")
def open_vacancy_view() -> Any:
    """Open preferred use for a vacancy with the ranked shortlist of the pool."""
    vacancy = {key: request.form.get(key, "").strip() for key in ("unit", "post", "requirements")}
    view = open_vacancy(web().db, web().clock, actor().user_id, vacancy)
    return _to_first_task(view)


def _to_first_task(view: Any) -> Any:
    mine = [t for t in view.ready if t.role in actor().roles()]
    flash(_("Started: %(title)s", title=pick(view.title) or view.process_id))
    if mine:
        return redirect(url_for("tasks.view", task_id=mine[0].id))
    return redirect(url_for("cases.view", case_id=view.id))


@bp.get("/<candidate>")
@role_required(*VIEWERS)
def cadre(candidate: str) -> Any:
    cadre = next((c for c in pool(web().db) if c.candidate == candidate), None)
    if cadre is None:
        abort(404)
    detail: CaseDetail | None = None
    if cadre.case_id:
        try:
            detail = case_detail(web().db, actor().user_id, cadre.case_id)
        except NotFound:
            detail = None  # the engine does not open this file to the viewer: the pool's summary only
    # Every year from the case's log (the case data holds the current year only).
    years = years_of_case(web().db, cadre.case_id) if detail is not None and cadre.case_id else []
    return render_template(
        "cadre.html",
        cadre=cadre,
        detail=detail,
        mentor=str(detail.case.data.get("mentor") or cadre.mentor) if detail is not None else cadre.mentor,
        years=list(reversed(years)),
        status_labels=status_labels(),
        status_class=STATUS_CLASS,
        rating_labels=rating_labels(),
        potential_labels=potential_labels(),
        topic_labels=topic_labels(),
        grade_labels=grade_labels(),
        finding_labels=finding_labels(),
        placement_labels=placement_labels(),
        development_labels=development_labels(),
        review_labels=review_labels(),
        label=label,
        when=when,
    )
