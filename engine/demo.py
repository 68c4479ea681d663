"""The demo: three units, one user per role, a batch of 20 nominees run to the end.

It drives the case through the same services the web inbox calls, reading what each role would see
(the ready tasks and the case data) instead of hard-coding outcomes: the pre-selection proposed is
the system's, the back-filled candidate is one the system offers. The clock is a manual clock set 30
days in the past, so the notice period can pass without waiting a week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from engine import cases, messages
from engine.clock import ManualClock
from engine.definitions import deploy_processes, find_project_root
from engine.directory import ensure_unit, ensure_user, grant
from engine.pool import open_vacancy, pool
from engine.store.db import Database
from engine.store.migrate import upgrade

PUBLIC_USER = "public"  # the system user of the public supervision form (see seed_directory)
DEMO_PASSWORD = "cadreflow-demo"  # demo accounts only; printed by the demo, never used elsewhere

UNITS = [
    ("dongcheng", "Dongcheng township", "东城乡"),
    ("xihe", "Xihe town", "西河镇"),
    ("bayin", "Bayin gacha", "巴音嘎查"),
]

# user id, display name, role, unit (for unit-scoped roles)
USERS = [
    ("li_org", "Li Ming (organization dept.)", "org_department", None),
    ("uc_dongcheng", "Dongcheng party committee", "unit_committee", "dongcheng"),
    ("uc_xihe", "Xihe party committee", "unit_committee", "xihe"),
    ("uc_bayin", "Bayin party branch", "unit_committee", "bayin"),
    ("wang_exam", "Wang Fang (exam office)", "exam_office", None),
    ("zhao_insp", "Zhao Lei (inspection team)", "inspection_team", None),
    ("sun_jw", "Sun Qiang (discipline inspection)", "discipline_inspection", None),
    ("zhou_jisheng", "Zhou Hua (family planning)", "family_planning", None),
    ("wu_changwei", "Wu Gang (party committee)", "party_committee", None),
    ("chen_dangxiao", "Chen Jing (party school)", "party_school", None),
    ("he_mentor", "He Ping (mentor)", "mentor", "dongcheng"),
    ("lin_mentor", "Lin Bo (mentor)", "mentor", "xihe"),
    ("bao_mentor", "Bao Yin (mentor)", "mentor", "bayin"),
    ("ma_audit", "Ma Li (auditor)", "auditor", None),
    ("gao_design", "Gao Yu (process designer)", "designer", None),
    ("admin", "Administrator", "admin", None),
]

# id, name, birth date, education, service years, political status, committee opinion[, reason]
NOMINEES: dict[str, list[tuple[Any, ...]]] = {
    "dongcheng": [
        ("d01", "Zhang Wei 张伟", "1990-04-12", "master", 8, "party_member", "qualified"),
        ("d02", "Liu Yang 刘洋", "1992-09-03", "bachelor", 6, "party_member", "qualified"),
        ("d03", "Yang Jing 杨静", "1988-01-20", "bachelor", 11, "party_member", "qualified"),
        ("d04", "Huang Lei 黄磊", "1993-06-30", "bachelor", 5, "party_member", "qualified"),
        ("d05", "Zhou Min 周敏", "1991-12-01", "junior_college", 9, "party_member", "qualified"),
        ("d06", "Wu Tao 吴涛", "1994-03-15", "bachelor", 4, "party_member", "qualified"),
        (
            "d07",
            "Xu Gang 徐刚",
            "1989-08-08",
            "bachelor",
            10,
            "party_member",
            "not_qualified",
            "under review for a land-use complaint",
        ),
    ],
    "xihe": [
        ("x01", "Sun Li 孙丽", "1991-02-14", "master", 7, "party_member", "qualified"),
        ("x02", "Ma Jun 马军", "1990-10-10", "bachelor", 9, "party_member", "qualified"),
        ("x03", "Zhu Hong 朱红", "1992-05-05", "bachelor", 6, "party_member", "qualified"),
        ("x04", "Hu Bin 胡斌", "1989-07-21", "doctorate", 5, "party_member", "qualified"),
        ("x05", "Guo Xia 郭霞", "1993-11-11", "bachelor", 4, "party_member", "qualified"),
        ("x06", "He Yong 何勇", "1990-01-01", "bachelor", 8, "party_member", "qualified"),
        ("x07", "Lin Feng 林峰", "1978-03-03", "master", 20, "party_member", "qualified"),
    ],
    "bayin": [
        ("b01", "Bater 巴特尔", "1991-08-18", "bachelor", 8, "party_member", "qualified"),
        ("b02", "Saren 萨仁", "1993-04-04", "junior_college", 6, "party_member", "qualified"),
        ("b03", "Aruna 阿茹娜", "1990-12-12", "bachelor", 9, "party_member", "qualified"),
        ("b04", "Sukh 苏和", "1992-02-29", "bachelor", 5, "party_member", "qualified"),
        ("b05", "Naran 娜仁", "1994-09-09", "bachelor", 3, "party_member", "qualified"),
        ("b06", "Chaolu 朝鲁", "1991-06-06", "bachelor", 7, "non_party", "qualified"),
    ],
}
NOMINEE_FIELDS = (
    "id",
    "name",
    "birth_date",
    "education",
    "service_years",
    "political_status",
    "committee_opinion",
)
PARTICIPANTS = {"dongcheng": 30, "xihe": 25, "bayin": 20}
VOTES = {
    "d01": 26,
    "d02": 21,
    "d03": 24,
    "d04": 18,
    "d05": 17,
    "d06": 12,
    "x01": 22,
    "x02": 19,
    "x03": 15,
    "x04": 20,
    "x05": 14,
    "x06": 10,
    "b01": 18,
    "b02": 13,
    "b03": 16,
    "b04": 11,
    "b05": 12,
}
SCORES: dict[str, float | None] = {
    "d01": 88.5,
    "d02": 79.0,
    "d03": 91.0,
    "d04": 72.5,
    "d05": 55.0,
    "x01": 93.5,
    "x02": 81.0,
    "x03": 68.0,
    "x04": 86.0,
    "x05": 59.5,
    "b01": 84.0,
    "b02": 66.5,
    "b03": 90.0,
    "b04": 74.0,
    "b05": None,
}
RATINGS = {
    "x01": "excellent",
    "d03": "competent",
    "b03": "excellent",
    "d01": "competent",
    "x04": "incompetent",
    "b01": "competent",
}
REPORTS = {
    "excellent": "Outstanding results in rural revitalisation work; trusted by the villagers. "
    "工作实绩突出，群众公认。",
    "competent": "Does the job well, sound in principle and conduct; room to grow in planning. "
    "称职，作风扎实。",
    "incompetent": "Repeated failures to carry out assigned duties found in the record review. "
    "考察发现履职不力。",
}


def seed_directory(db: Database) -> None:
    with db.write() as session:
        for unit_id, name_en, name_zh in UNITS:
            ensure_unit(session, unit_id, name_en, name_zh)
        for user_id, name, role, unit in USERS:
            ensure_user(session, user_id, name, DEMO_PASSWORD)
            grant(session, user_id, role, unit)
        # The system user the public web form submits as (mass_supervision): no password, so nobody
        # can sign in as it.
        ensure_user(session, PUBLIC_USER, "Public (web form) / 群众（网上反映）")
        grant(session, PUBLIC_USER, "public")


# Batches the demo leaves behind, so every role finds work in the inbox: (title, days ago, stop before).
BATCHES = [
    ("2027 reserve cadres, first batch / 2027年第一批后备干部", 40, None),
    ("2027 reserve cadres, second batch / 2027年第二批后备干部", 20, "discipline_opinion"),
    ("2027 reserve cadres, third batch / 2027年第三批后备干部", 10, "record_exam_scores"),
    ("2027 reserve cadres, fourth batch / 2027年第四批后备干部", 1, "nominate"),
]


class _Stop(Exception):
    """The batch reached the task it is to be left waiting at."""


def run_demo(db: Database, emit: Callable[[str], None], story: bool = False) -> str:
    """Seed the directory and four batches (finished, at opinions, at exams, just opened).

    Idempotent: when the demo batches exist already, nothing is added. Prints the demo sign-ins and the
    finished batch's outcome; returns the finished batch's case id. With ``story`` (the ``cadreflow
    demo`` command), the finished batch ran a year earlier and one of its cadres is followed through a
    year in the pool to an appointment (:func:`follow_a_cadre`).
    """
    upgrade(db)
    root = find_project_root(Path(__file__).parent)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    deploy_processes(db, root / "processes", "demo", now - timedelta(days=60), "demo deployment")
    seed_directory(db)
    existing = _existing_batches(db)
    finished_id = existing.get(BATCHES[0][0], "")
    for title, days_ago, stop_before in BATCHES:
        if title in existing:
            emit(f"  {pick_english(title)}: already there (case {existing[title]})")
            continue
        if story and stop_before is None:
            days_ago += 390  # room for the followed cadre's year in the pool
        clock = ManualClock(now - timedelta(days=days_ago))
        case_id = run_batch(db, clock, title, stop_before, emit)
        if stop_before is None:
            finished_id = case_id
            if story:
                follow_a_cadre(db, clock, emit)
    emit("")
    emit(outcome_table(cases.get_case(db, finished_id)))
    emit("")
    emit(sign_in_table())
    return finished_id


def pick_english(title: str) -> str:
    return title.split(" / ")[0]


def _existing_batches(db: Database) -> dict[str, str]:
    from sqlalchemy import select

    from engine.store.models import Case

    titles = [title for title, _days, _stop in BATCHES]
    with db.read() as session:
        rows = session.execute(select(Case.title, Case.id).where(Case.title.in_(titles))).all()
    return {title: case_id for title, case_id in rows}


def sign_in_table() -> str:
    lines = [f"Demo sign-ins (password for all: {DEMO_PASSWORD})", f"  {'user':<15} {'role':<22} unit"]
    lines += [f"  {user:<15} {role:<22} {unit or '-'}" for user, _name, role, unit in USERS]
    return "\n".join(lines)


def run_batch(
    db: Database, clock: ManualClock, title: str, stop_before: str | None, emit: Callable[[str], None]
) -> str:
    """Drive one batch through the services, reading what each role would see; stop before a task."""
    steps: list[str] = []
    emit(
        f"{pick_english(title)}: 20 nominees in 3 units"
        + (f", left waiting at {stop_before}" if stop_before else ", run to the end")
    )

    def act(label: str, user: str, task: cases.TaskView, data: dict[str, Any]) -> cases.CaseView:
        if task.element_id == stop_before:
            raise _Stop
        steps.append(label)
        emit(f"  [{len(steps):2d}] {label:<44} by {user}")
        clock.advance("PT2H")
        return cases.complete_task(db, clock, user, task.id, data)

    def only(view: cases.CaseView, element: str, **match: str) -> cases.TaskView:
        found = [
            t
            for t in view.ready
            if t.element_id == element and all(t.input.get(k) == v for k, v in match.items())
        ]
        if not found:
            raise RuntimeError(
                f"demo expected a ready {element} {match}, the case has {[t.element_id for t in view.ready]}"
            )
        return found[0]

    view = cases.start_case(db, clock, "li_org", "reserve_selection")
    try:
        _drive(view, title, act, only, clock, db, emit)
    except _Stop:
        pass
    return view.id


def open_batch_data(title: str) -> dict[str, Any]:
    """What the department enters to open a demo batch: quota 4, all three units, the conditions."""
    return {
        "batch_name": title,
        "quota": 4,
        "units": [u[0] for u in UNITS],
        "conditions": {
            "max_age": 40,
            "min_education": "junior_college",
            "min_service_years": 3,
            "political_status": "party_member",
        },
        "reference_date": "2027-01-01",
    }


def _drive(
    view: cases.CaseView,
    title: str,
    act: Callable[..., cases.CaseView],
    only: Callable[..., cases.TaskView],
    clock: ManualClock,
    db: Database,
    emit: Callable[[str], None],
) -> None:
    view = act(
        "open_batch (quota 4)",
        "li_org",
        only(view, "open_batch"),
        open_batch_data(title),
    )
    for unit, _en, _zh in UNITS:
        nominees = []
        for row in NOMINEES[unit]:
            entry = dict(zip(NOMINEE_FIELDS, row[:7], strict=True))
            if len(row) > 7:
                entry["reason"] = row[7]
            nominees.append(entry)
        view = act(
            f"nominate ({unit})", f"uc_{unit}", only(view, "nominate", unit=unit), {"nominees": nominees}
        )
    for unit, _en, _zh in UNITS:
        qualified = [n["id"] for n in view.data["qualified_by_unit"][unit]]
        view = act(
            f"democratic_recommendation ({unit})",
            f"uc_{unit}",
            only(view, "democratic_recommendation", unit=unit),
            {
                "participants": PARTICIPANTS[unit],
                "votes": [{"candidate": c, "votes": VOTES[c]} for c in qualified],
            },
        )
    remaining = [c["id"] for c in view.data["remaining"]]
    view = act(
        "record_exam_scores",
        "wang_exam",
        only(view, "record_exam_scores"),
        {"scores": [{"candidate": c, "score": SCORES[c]} for c in remaining]},
    )
    for candidate in list(view.data["inspection_list"]):
        rating = RATINGS.get(candidate, "competent")
        view = act(
            f"inspect_candidate ({candidate})",
            "zhao_insp",
            only(view, "inspect_candidate", candidate=candidate),
            {"rating": rating, "report": REPORTS[rating]},
        )
    proposed = list(view.data["preselection"])
    view = act(
        "propose_candidates (the pre-selection)",
        "li_org",
        only(view, "propose_candidates"),
        {"proposed": proposed},
    )
    objected = proposed[-1]
    opinions = [{"candidate": c, "opinion": "no_objection"} for c in proposed]
    discipline = [dict(o) for o in opinions]
    discipline[-1] = {
        "candidate": objected,
        "opinion": "objection",
        "reason": "a pending petition about village accounts / 村务账目信访尚未办结",
    }
    view = act(
        "discipline_opinion (one objection)",
        "sun_jw",
        only(view, "discipline_opinion"),
        {"opinions": discipline},
    )
    view = act(
        "family_planning_opinion",
        "zhou_jisheng",
        only(view, "family_planning_opinion"),
        {"opinions": opinions},
    )
    backfill = list(view.data.get("round_available", []))[:1]
    view = act(
        f"backfill ({', '.join(backfill) or 'nobody'})",
        "li_org",
        only(view, "backfill"),
        {"backfill": backfill},
    )
    if backfill:
        round_opinions = [{"candidate": c, "opinion": "no_objection"} for c in backfill]
        view = act(
            "discipline_opinion (round 2)",
            "sun_jw",
            only(view, "discipline_opinion"),
            {"opinions": round_opinions},
        )
        view = act(
            "family_planning_opinion (round 2)",
            "zhou_jisheng",
            only(view, "family_planning_opinion"),
            {"opinions": round_opinions},
        )
    still = list(view.data["still_proposed"])
    view = act(
        "committee_decision (approve all)",
        "wu_changwei",
        only(view, "committee_decision"),
        {
            "meeting_date": clock.now().date().isoformat(),
            "minute_ref": "SC-2027-03",
            "decisions": [{"candidate": c, "decision": "approve"} for c in still],
        },
    )
    emit("  notice period P7D ...")
    clock.advance("P7D")
    cases.fire_due_timers(db, clock.now())
    # Admission throws cadre_admitted for each admitted candidate: their reserve_cadre files open.
    opened = messages.deliver_messages(db, clock)
    emit(f"  {opened} admission message(s) delivered: the admitted cadres' files are open")


MENTORS = {"dongcheng": "he_mentor", "xihe": "lin_mentor", "bayin": "bao_mentor"}
FOLLOWED = "x01"  # the cadre the demo follows from admission to appointment
YEAR_OF_WORK: dict[str, tuple[str, dict[str, Any]]] = {
    "plan_internships": ("li_org", {"placements": []}),
    "record_talk": (
        "",
        {
            "talk_date": "",
            "topics": ["work_performance", "study"],
            "notes": "Quarterly heart-to-heart talk; goals reviewed. 季度谈心谈话。",
        },
    ),
    "record_supervision": (
        "uc_{unit}",
        {
            "supervised_on": "",
            "work_completion": "good",
            "duty_performance": "good",
            "usual_performance": "good",
        },
    ),
    "record_course": ("chen_dangxiao", {"attended": True, "result": "excellent"}),
    "unit_assessment": (
        "uc_{unit}",
        {
            "rating": "excellent",
            "potential": "high",
            "basis": "Field visit, 15 interviews and every record of the year. 实地走访、个别谈话。",
        },
    ),
    "confirm_assessment": ("li_org", {"rating": "excellent", "potential": "high"}),
}


def follow_a_cadre(db: Database, clock: ManualClock, emit: Callable[[str], None]) -> None:
    """Pair every new cadre with a mentor; live one cadre's first year; appoint them to a vacancy."""
    members = {m.candidate: m for m in pool(db)}
    for candidate, member in sorted(members.items()):
        view = cases.get_case(db, member.case_id or "")
        pairing = [t for t in view.ready if t.element_id == "pair_mentor"]
        if pairing:
            clock.advance("PT1H")
            cases.complete_task(
                db,
                clock,
                "li_org",
                pairing[0].id,
                {
                    "cadre": candidate,
                    "mentor": MENTORS[member.unit],
                    "paired_on": clock.now().date().isoformat(),
                },
            )
    followed = members[FOLLOWED]
    emit(f"  following cadre {FOLLOWED} ({followed.name}) through a year in the pool")
    case_id = followed.case_id or ""
    for _quarter in range(4):
        clock.advance("P3M")
        cases.fire_due_timers(db, clock.now())
        _work_the_year(db, clock, case_id, followed.unit)
    for _step in range(2):  # the unit's assessment, then the department's confirmation
        _work_the_year(db, clock, case_id, followed.unit)
    clock.advance("P7D")
    vacancy = {
        "unit": followed.unit,
        "post": "Deputy head of the town / 副镇长",
        "requirements": "Rural revitalisation experience / 有乡村振兴工作经验",
    }
    view = open_vacancy(db, clock, "li_org", vacancy)
    emit(f"  vacancy opened (case {view.id}); {FOLLOWED} is nominated, inspected, consulted and appointed")
    steps = [
        ("pick_nominee", "li_org", {"nominee": FOLLOWED}),
        (
            "inspect_nominee",
            "zhao_insp",
            {"rating": "excellent", "report": "Outstanding year in the pool; trusted by the villagers."},
        ),
        ("discipline_opinion", "sun_jw", {"opinion": "no_objection"}),
        ("family_planning_opinion", "zhou_jisheng", {"opinion": "no_objection"}),
        (
            "appointment_decision",
            "wu_changwei",
            {
                "meeting_date": clock.now().date().isoformat(),
                "minute_ref": "SC-2028-02",
                "decision": "approve",
            },
        ),
    ]
    for element, user, data in steps:
        clock.advance("P1D")
        task = next(t for t in cases.get_case(db, view.id).ready if t.element_id == element)
        cases.complete_task(db, clock, user, task.id, data)
    messages.deliver_messages(db, clock)
    emit(f"  {FOLLOWED}'s file ended as: {cases.get_case(db, case_id).data.get('outcome')}")


def _work_the_year(db: Database, clock: ManualClock, case_id: str, unit: str) -> None:
    for task in cases.get_case(db, case_id).ready:
        who, data = YEAR_OF_WORK[task.element_id]
        user = (who or MENTORS[unit]).format(unit=unit)
        today = clock.now().date().isoformat()
        filled = {k: (today if k in ("talk_date", "supervised_on") else v) for k, v in data.items()}
        cases.complete_task(db, clock, user, task.id, filled)


def outcome_table(view: cases.CaseView) -> str:
    """Admitted, then dropped with stage and reason: why is this person (not) in the pool?"""
    data = view.data
    names = {cid: n.get("name", "") for cid, n in (data.get("screening") or {}).items()}
    units = data.get("nominee_unit") or {}
    lines = [f"Batch: {view.title}  (case {view.id}, {view.status})", ""]
    admitted = data.get("admitted") or []
    lines.append(f"ADMITTED ({len(admitted)})")
    for cid in admitted:
        lines.append(
            f"  {cid:<5} {names.get(cid, ''):<16} {units.get(cid, ''):<10} composite "
            f"{(data.get('composite_scores') or {}).get(cid, '')}"
        )
    dropped = data.get("dropped") or []
    lines.append("")
    lines.append(f"DROPPED ({len(dropped)})")
    lines.append(f"  {'id':<5} {'name':<16} {'unit':<10} {'stage':<18} reason")
    for entry in dropped:
        cid = entry.get("candidate", "")
        lines.append(
            f"  {cid:<5} {names.get(cid, ''):<16} {units.get(cid, ''):<10} {entry.get('stage', ''):<18} "
            f"{entry.get('reason', '')}"
        )
    lines.append("")
    lines.append(f"{len(admitted) + len(dropped)} nominees accounted for.")
    return "\n".join(lines)
