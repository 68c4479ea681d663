"""The batch overview: every selection batch, where it stands, and its candidate funnel as a chart.

Who may see it is the engine's call (:func:`engine.batches.batch_overview` raises ``Forbidden`` for
anyone but the organization department and auditors → the 403 page).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _

from engine.batches import batch_overview
from webui.context import actor, web
from webui.i18n import pick
from webui.security import login_required
from webui.views.cases import humanise, status_label, when

bp = Blueprint("batches", __name__, url_prefix="/batches")


def funnel_labels() -> dict[str, str]:
    """The funnel's steps (``engine.batches.FUNNEL_STEPS``), for people."""
    return {
        "nominated": _("Nominated"),
        "qualified": _("Qualified"),
        "recommended": _("Recommended"),
        "passed_exam": _("Passed the exam"),
        "inspected": _("Inspected"),
        "proposed": _("Proposed"),
        "approved": _("Approved"),
        "admitted": _("Admitted"),
    }


def step_label(step: str) -> str:
    return funnel_labels().get(step) or humanise(step)


def stage_text(stage: list[str]) -> str:
    """The element ids a batch waits at, for people (``["finished"]`` → "Finished")."""
    if stage == ["finished"]:
        return _("Finished")
    return ", ".join(humanise(element) for element in stage) or "—"


@bp.get("")
@login_required
def index() -> Any:
    batches = batch_overview(web().db, actor().user_id)
    charts = {
        "datasetLabel": _("Candidates"),
        "batches": [
            {
                "caseId": batch.case_id,
                "title": pick(batch.title),
                "steps": [step for step, _count in batch.funnel],
                "labels": [step_label(step) for step, _count in batch.funnel],
                "counts": [count for _step, count in batch.funnel],
            }
            for batch in batches
        ],
    }
    return render_template(
        "batches.html",
        batches=batches,
        charts=charts,
        step_label=step_label,
        stage_text=stage_text,
        status_label=status_label,
        when=when,
    )
