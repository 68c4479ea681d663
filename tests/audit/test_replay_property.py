"""Property: whatever valid path a selection batch takes, re-executing its log reproduces the log.

Hypothesis drives ``reserve_selection`` through the real services on SQLite along random valid paths:
how many units and nominees, their profiles and the committees' opinions, votes, exam scores (or
absences), inspection ratings, the department's proposal (with or without the pre-selection),
objections and back-fills, the committee's decisions, claims before completing, and the order in
which parallel tasks are done. Each task starts from the form's own prefill (what the task page
shows) and varies it within the form's rules. Every case the batch leaves (including the cadre
files its admissions start) must then verify.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine import cases, messages
from engine.audit.verify import verify_all
from engine.bpmn.loader import ProcessBundle
from engine.clock import ManualClock
from engine.definitions import deploy_bundle
from engine.directory import ensure_unit
from engine.store.db import Database
from engine.task_views import task_detail
from tests.conftest import START, make_user

UNITS = ("u1", "u2", "u3")
USERS = {
    "org_department": "li",
    "exam_office": "exam",
    "inspection_team": "insp",
    "discipline_inspection": "disc",
    "family_planning": "fp",
    "party_committee": "pc",
}
MAX_STEPS = 80


@pytest.fixture(scope="module")
def template(
    sqlite_template: Path, bundles: list[ProcessBundle], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A migrated SQLite file with the processes deployed and one user per role (and unit)."""
    path = tmp_path_factory.mktemp("property") / "template.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as session:
            for bundle in bundles:
                deploy_bundle(session, bundle, "test", START)
            for unit in UNITS:
                ensure_unit(session, unit)
        for role, user in USERS.items():
            make_user(db, user, role)
        for unit in UNITS:
            make_user(db, f"uc_{unit}", f"unit_committee@{unit}")
    finally:
        db.dispose()
    return path


def _user(task: cases.TaskView) -> str:
    return f"uc_{task.unit_id}" if task.role == "unit_committee" else USERS[task.role]


def _subset(draw: st.DataObject, items: list[str], most: int) -> list[str]:
    chosen = draw.draw(st.lists(st.sampled_from(items), unique=True, max_size=min(most, len(items))))
    return chosen if items and most > 0 else []


def _form(draw: st.DataObject, task: cases.TaskView, case: cases.CaseView, user: str, db: Database) -> Any:
    """Valid form data for ``task``: the form's prefill, varied within its rules."""
    detail = task_detail(db, user, task.id)
    values: dict[str, Any] = dict(detail.values)
    data = case.data
    element = task.element_id
    if element == "open_batch":
        units = draw.draw(st.lists(st.sampled_from(UNITS), unique=True, min_size=1, max_size=3))
        return {
            "batch_name": "property batch",
            "quota": draw.draw(st.integers(1, 3)),
            "units": units,
            "conditions": {
                "max_age": draw.draw(st.sampled_from([40, 45])),
                "min_education": draw.draw(st.sampled_from(["high_school", "junior_college"])),
                "min_service_years": draw.draw(st.integers(0, 3)),
                "political_status": draw.draw(st.sampled_from(["any", "any", "party_member"])),
            },
            "reference_date": "2027-01-01",
        }
    if element == "nominate":
        count = draw.draw(st.integers(0, 3) if len(case.ready) > 1 else st.integers(1, 3))
        nominees = []
        for number in range(count):
            nominee: dict[str, Any] = {
                "id": f"{task.unit_id}n{number}",
                "name": f"Nominee {task.unit_id}-{number}",
            }
            if draw.draw(st.integers(0, 3), label="within the conditions") > 0:
                nominee |= {
                    "birth_date": f"{draw.draw(st.integers(1990, 2000))}-06-15",
                    "education": draw.draw(st.sampled_from(["bachelor", "master"])),
                    "service_years": draw.draw(st.integers(3, 20)),
                    "political_status": "party_member",
                    "committee_opinion": "qualified",
                }
            else:  # anything the form accepts: too old, too new, not a member, or not recommended
                opinion = draw.draw(st.sampled_from(["qualified", "not_qualified"]))
                nominee |= {
                    "birth_date": f"{draw.draw(st.integers(1970, 2000))}-06-15",
                    "education": draw.draw(st.sampled_from(["high_school", "junior_college", "bachelor"])),
                    "service_years": draw.draw(st.integers(0, 20)),
                    "political_status": draw.draw(st.sampled_from(["party_member", "non_party"])),
                    "committee_opinion": opinion,
                }
                if opinion == "not_qualified":
                    nominee["reason"] = "not ready yet"
            nominees.append(nominee)
        return {"nominees": nominees}
    if element == "democratic_recommendation":
        participants = draw.draw(st.integers(1, 30))

        def share() -> int:  # mostly above the recommendation threshold
            if draw.draw(st.integers(0, 3)) == 0:
                return draw.draw(st.integers(0, participants))
            return draw.draw(st.integers(participants // 2 + 1, participants))

        votes = [{**v, "votes": share()} for v in values["votes"]]
        return {"participants": participants, "votes": votes}
    if element == "record_exam_scores":

        def score() -> float | int | None:  # mostly a pass; sometimes absent or any score
            kind = draw.draw(st.integers(0, 5))
            if kind == 0:
                return None
            if kind == 1:
                return draw.draw(st.integers(0, 100))
            return draw.draw(st.integers(600, 1000)) / 10

        return {"scores": [{**s, "score": score()} for s in values["scores"]]}
    if element == "inspect_candidate":
        ratings = ["excellent", "competent", "competent", "basically_competent", "incompetent"]
        rating = draw.draw(st.sampled_from(ratings))
        return {"rating": rating, "report": "Inspected on site: record, interviews and files."}
    if element == "propose_candidates":
        inspected = [c for c, _label in detail.choices.get("proposed[]", [])]
        if draw.draw(st.integers(0, 2)) > 0:
            return values  # the system's pre-selection
        proposed = _subset(draw, inspected, int(data["quota"]))
        return {"proposed": proposed, "reason": "the department weighed the record differently"}
    if element in ("discipline_opinion", "family_planning_opinion"):
        opinions = []
        for entry in values["opinions"]:
            if draw.draw(st.integers(0, 5)) == 0:
                opinions.append(
                    {"candidate": entry["candidate"], "opinion": "objection", "reason": "a complaint"}
                )
            else:
                opinions.append(entry)
        return {"opinions": opinions}
    if element == "backfill":
        available = [c for c, _label in detail.choices.get("backfill[]", [])]
        room = int(data["quota"]) - len(data.get("round_still_proposed") or [])
        return {"backfill": _subset(draw, available, room)}
    if element == "committee_decision":
        decisions = [
            {**d, "decision": draw.draw(st.sampled_from(["approve", "approve", "approve", "reject"]))}
            for d in values["decisions"]
        ]
        return {"meeting_date": "2027-02-20", "minute_ref": "SC-1", "decisions": decisions}
    raise AssertionError(f"the property test does not know how to fill {element}; add it")


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure reports at once
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(draw=st.data())
def test_any_valid_selection_path_re_executes_to_its_log(
    template: Path, tmp_path_factory: pytest.TempPathFactory, draw: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("example") / "case.db"
    shutil.copyfile(template, path)
    db = Database(f"sqlite:///{path}")
    clock = ManualClock(START)
    try:
        case_id = cases.start_case(db, clock, USERS["org_department"], "reserve_selection").id
        for _step in range(MAX_STEPS):
            case = cases.get_case(db, case_id)
            if case.status == "finished":
                break
            if not case.ready:  # waiting for the notice period
                clock.advance("P8D")
                cases.fire_due_timers(db, clock.now())
                messages.deliver_messages(db, clock)
                continue
            task = draw.draw(st.sampled_from(case.ready), label="task")
            user = _user(task)
            data = _form(draw, task, case, user, db)
            clock.advance(draw.draw(st.sampled_from(["PT1M", "PT2H", "P1D"])))
            if draw.draw(st.booleans(), label="claim first"):
                cases.claim_task(db, clock, user, task.id)
            cases.complete_task(db, clock, user, task.id, data)
            messages.deliver_messages(db, clock)
        assert cases.get_case(db, case_id).status == "finished", "the path did not finish in time"

        reports = verify_all(db)
        assert [r.line() for r in reports if not r.ok] == []
        assert reports and reports[0].case_id == case_id and reports[0].events > 5
    finally:
        db.dispose()
