"""The web inbox service (``engine.inbox``): who sees which ready tasks, facets and their counts,
search by case title and by the candidate a task is about, sorting, paging, and the "done" list.

The faceted inbox runs on both backends (its SQL is the part that differs); the rest on SQLite.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from engine import cases
from engine.errors import Invalid, NotFound
from engine.inbox import FACETS, InboxFilters, InboxPage, done_tasks, inbox_page
from engine.store.models import HumanTask
from tests.conftest import START, Harness

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _page(harness: Harness, user: str, **filters: object) -> InboxPage:
    return inbox_page(harness.db, user, InboxFilters(**filters), harness.clock.now())  # type: ignore[arg-type]


def _ids(page: InboxPage) -> list[str]:
    return [item.id for item in page.items]




def _two_batches(harness: Harness) -> tuple[str, str]:
    """Case A at its two nominate tasks (u1, u2), case B (newer, later due) at open_batch."""
    a = harness.start()
    harness.drive(a, until="nominate")
    harness.clock.advance("P1D")
    b = harness.start()
    return a, b


def test_faceted_inbox_counts_add_up(harness: Harness) -> None:
    """One user with org_department and the committee role in u1 and u2 sees all three tasks; each
    facet's counts are computed with the other filters applied, so they add up to that total."""
    a, b = _two_batches(harness)
    boss = harness.user("boss", "org_department", "unit_committee@u1", "unit_committee@u2")

    page = _page(harness, boss)
    assert page.total == 3 and page.pages == 1 and page.page == 1
    assert [(i.element_id, i.case_id, i.unit_id) for i in page.items] == [
        # open_batch is due in 5 days from day 1, nominate in 10 days from day 0
        ("open_batch", b, ""),
        ("nominate", a, "u1"),
        ("nominate", a, "u2"),
    ]
    assert page.counts == {
        "view": {"all": 3, "mine": 0, "available": 3},
        "process": {"reserve_selection": 3},
        "task": {"nominate": 2, "open_batch": 1},
        "unit": {"": 1, "u1": 1, "u2": 1},
        "batch": {a: 2, b: 1},
    }
    assert page.labels["batch"] == {a: "2027 spring", b: b}  # B has no title until open_batch is done
    assert page.labels["task"]["nominate"].startswith("Screen and nominate")
    nominate = page.items[1]
    assert nominate.case_title == "2027 spring" and nominate.about == "u1" and not nominate.overdue

    # Filtering by a task: its own facet still counts every task, the others only nominate's.
    filtered = _page(harness, boss, task="nominate")
    assert filtered.total == 2
    assert filtered.counts["task"] == {"nominate": 2, "open_batch": 1}
    assert filtered.counts["unit"] == {"u1": 1, "u2": 1}
    assert filtered.counts["batch"] == {a: 2}
    assert filtered.counts["view"] == {"all": 2, "mine": 0, "available": 2}

    # Every facet's counts sum to the total of the same query without that facet's filter.
    chosen = {
        "view": "available",
        "process": "reserve_selection",
        "task": "nominate",
        "unit": "u2",
        "batch": a,
    }
    for facet in FACETS:
        page = _page(harness, boss, **chosen)
        without = dict(chosen)
        without.pop(facet)
        assert sum(page.counts[facet].values()) == _page(harness, boss, **without).total * (
            2 if facet == "view" else 1  # "all" = "mine" + "available"
        ), facet
    assert _page(harness, boss, **chosen).total == 1


@sqlite_only
def test_unit_scoped_roles_see_only_their_units(harness: Harness) -> None:
    a, _b = _two_batches(harness)
    u1 = harness.user("uc1", "unit_committee@u1")
    u2 = harness.user("uc2", "unit_committee@u2")
    li = harness.user("li", "org_department")
    nobody = harness.user("nobody")

    assert [(i.element_id, i.unit_id) for i in _page(harness, u1).items] == [("nominate", "u1")]
    assert [(i.element_id, i.unit_id) for i in _page(harness, u2).items] == [("nominate", "u2")]
    assert [i.element_id for i in _page(harness, li).items] == ["open_batch"]
    assert _page(harness, nobody).total == 0 and _page(harness, nobody).counts["view"]["all"] == 0
    # Even filtering for u2 explicitly shows u1's committee nothing (and counts nothing of u2).
    only_u2 = _page(harness, u1, unit="u2")
    assert only_u2.total == 0 and only_u2.counts["unit"] == {"u1": 1}
    with pytest.raises(NotFound):
        _page(harness, "ghost")
    assert a


@sqlite_only
def test_claims_split_mine_and_available_and_hide_others_claims(harness: Harness) -> None:
    a = harness.start()
    harness.drive(a, until="record_exam_scores")
    ann = harness.user("ann", "exam_office")
    bob = harness.user("bob", "exam_office")
    task = harness.task(a, "record_exam_scores")
    assert _ids(_page(harness, bob)) == [task.id]

    cases.claim_task(harness.db, harness.clock, ann, task.id)
    assert _page(harness, ann).counts["view"] == {"all": 1, "mine": 1, "available": 0}
    assert _ids(_page(harness, ann, view="mine")) == [task.id]
    assert _page(harness, ann, view="available").total == 0
    # Claimed by ann: gone from bob's inbox altogether.
    assert _page(harness, bob).total == 0 and _page(harness, bob).counts["view"]["all"] == 0

    cases.unclaim_task(harness.db, harness.clock, ann, task.id)
    assert _ids(_page(harness, bob, view="available")) == [task.id]


@sqlite_only
def test_subjects_and_excluded_completers_do_not_see_the_task(harness: Harness) -> None:
    """A candidate of the batch sees none of its tasks; the exam recorder sees no propose_candidates."""
    a = harness.start()
    harness.drive(a, until="inspect_candidate")
    candidate = harness.user("a1", "inspection_team")  # nominated as a1 by u1
    colleague = harness.user("insp", "inspection_team")
    assert _page(harness, candidate).total == 0
    assert _page(harness, colleague).total == 3

    harness.resume(a, until="propose_candidates")
    recorder = harness.user("exam_office", "exam_office", "org_department")  # completed record_exam_scores
    other = harness.user("zhou", "org_department")
    propose = harness.task(a, "propose_candidates")
    assert _ids(_page(harness, other)) == [propose.id]
    assert _page(harness, recorder).total == 0


@sqlite_only
def test_search_by_candidate_name_id_and_case_title(harness: Harness) -> None:
    a = harness.start()
    harness.drive(a, until="inspect_candidate")
    insp = harness.user("insp", "inspection_team")
    b1 = harness.task(a, "inspect_candidate", candidate="b1")

    found = _page(harness, insp, search="  bAI yi ")
    assert _ids(found) == [b1.id]
    assert found.items[0].about == "Bai Yi (b1)"
    assert found.counts["task"] == {"inspect_candidate": 1}
    assert [i.input["candidate"] for i in _page(harness, insp, search="A2").items] == ["a2"]
    assert {i.input["candidate"] for i in _page(harness, insp, search="an ").items} == {"a1", "a2"}
    assert _page(harness, insp, search="SPRING").total == 3  # the case title
    assert _page(harness, insp, search="nobody by that name").total == 0
    assert _page(harness, insp, search="%").total == 0  # LIKE wildcards are literal
    assert {i.about for i in _page(harness, insp).items} == {"An Yi (a1)", "An Er (a2)", "Bai Yi (b1)"}


@sqlite_only
def test_sorting_overdue_and_paging(harness: Harness) -> None:
    a, b = _two_batches(harness)
    boss = harness.user("boss", "org_department", "unit_committee@u1", "unit_committee@u2")
    nominate_u2 = harness.task(a, "nominate", unit="u2")
    with harness.db.write() as session:  # a task without a due date (a process may omit dueIn)
        session.execute(update(HumanTask).where(HumanTask.id == nominate_u2.id).values(due_at=None))

    by_due = _page(harness, boss)
    assert [(i.element_id, i.unit_id) for i in by_due.items] == [
        ("open_batch", ""),
        ("nominate", "u1"),
        ("nominate", "u2"),  # no due date: last
    ]
    latest_first = _page(harness, boss, sort="-due")
    assert [(i.element_id, i.unit_id) for i in latest_first.items] == [
        ("nominate", "u1"),
        ("open_batch", ""),
        ("nominate", "u2"),  # no due date: still last
    ]
    assert [i.case_id for i in _page(harness, boss, sort="created").items] == [a, a, b]

    later = inbox_page(harness.db, boss, InboxFilters(), START + timedelta(days=7))
    assert [(i.element_id, i.overdue) for i in later.items] == [
        ("open_batch", True),  # due day 6
        ("nominate", False),  # due day 10
        ("nominate", False),  # no due date is never overdue
    ]

    first, second = _page(harness, boss, page_size=2), _page(harness, boss, page_size=2, page=2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (3, 2, 2, 1)
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert _ids(first) + _ids(second) == _ids(by_due)
    beyond = _page(harness, boss, page_size=2, page=9)
    assert beyond.page == 2 and _ids(beyond) == _ids(second)


@sqlite_only
def test_invalid_filters_are_refused(harness: Harness) -> None:
    boss = harness.user("boss", "org_department")
    for bad, field in (
        (InboxFilters(view="theirs"), "view"),
        (InboxFilters(sort="name"), "sort"),
        (InboxFilters(page=0), "page"),
        (InboxFilters(page_size=0), "page_size"),
        (replace(InboxFilters(), page_size=10_000), "page_size"),
    ):
        with pytest.raises(Invalid) as raised:
            inbox_page(harness.db, boss, bad, harness.clock.now())
        assert field in raised.value.fields
    with pytest.raises(Invalid):
        done_tasks(harness.db, boss, page=0)


@sqlite_only
def test_done_tasks_newest_first_and_paged(harness: Harness) -> None:
    a = harness.start()
    harness.drive(a, until="nominate")
    harness.clock.advance("PT1H")
    harness.complete(a, "nominate", unit="u1")
    harness.clock.advance("PT1H")
    b = harness.start()
    harness.complete(b, "open_batch")

    done = done_tasks(harness.db, "li")
    assert [(i.element_id, i.case_id) for i in done.items] == [("open_batch", b), ("open_batch", a)]
    assert done.total == 2 and all(
        i.status == "completed" and i.case_title == "2027 spring" for i in done.items
    )
    assert done.items[0].completed_at is not None and done.items[0].completed_at > done.items[1].completed_at
    committee = done_tasks(harness.db, "unit_committee@u1")
    assert [(i.element_id, i.about) for i in committee.items] == [("nominate", "u1")]
    paged = done_tasks(harness.db, "li", page=2, page_size=1)
    assert (paged.total, paged.pages, [i.case_id for i in paged.items]) == (2, 2, [a])
    assert done_tasks(harness.db, harness.user("nobody")).items == []
