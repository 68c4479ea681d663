"""The inbox pages (``/`` and ``/done``) over the demo data, through Flask's test client.

Each role sees its own ready tasks and nothing else; the tabs, the filter selects (with their counts),
the search, the sort and the pagination are GET parameters; claim and unclaim are CSRF-protected POSTs
that come back to the inbox. The pages are parsed with lxml and their content asserted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import cases
from engine.clock import SystemClock
from engine.demo import DEMO_PASSWORD, open_batch_data
from engine.directory import ensure_user, grant
from tests.webui.conftest import csrf_from, select, sign_in

FOURTH = "2027 reserve cadres, fourth batch"
FIFTH = "2027 reserve cadres, fifth batch / 2027年第五批后备干部"


# ---------------------------------------------------------------------------------------------------
# Helpers


def page(client: FlaskClient, path: str, **query: Any) -> Any:
    response = client.get(path, query_string=query or None)
    assert response.status_code == 200, response.get_data(as_text=True)
    return lxml.html.fromstring(response.get_data(as_text=True))


def rows(doc: Any) -> list[dict[str, Any]]:
    """The inbox rows as dicts of what a person reads in them."""
    out = []
    for tr in select(doc, "#inbox-table tbody tr"):
        batch = select(tr, "td.batch a")[0]
        out.append(
            {
                "id": tr.get("data-task-id"),
                "element": tr.get("data-element"),
                "name": select(tr, "td.task-name")[0].text_content().strip(),
                "open": select(tr, "td.task-name a")[0].get("href"),
                "about": select(tr, "td.about")[0].text_content().strip(),
                "batch": batch.text_content().strip(),
                "batch_href": batch.get("href"),
                "due": select(tr, "td.due")[0].text_content().split(),
                "overdue": bool(select(tr, "td.due time.overdue"))
                and "is-overdue" in (tr.get("class") or ""),
                "claimed_by": select(tr, "td.claimed-by")[0].text_content().strip(),
                "buttons": [b.text_content().strip() for b in select(tr, "td.actions button")],
            }
        )
    return out


def tab_counts(doc: Any) -> dict[str, int]:
    return {a.get("data-view"): int(select(a, ".count")[0].text) for a in select(doc, "nav.tabs a.tab")}


def options(doc: Any, name: str) -> dict[str, str]:
    """``{value: shown text}`` of a filter select, without its "all" option."""
    return {
        o.get("value"): o.text_content().strip()
        for o in select(doc, f"#filter-{name} option")
        if o.get("value")
    }


def flashes(doc: Any) -> list[str]:
    return [p.text_content().strip() for p in select(doc, "p.flash")]


def add_user(app: Flask, user_id: str, role: str, *units: str) -> None:
    with app.extensions["cadreflow"].db.write() as session:
        ensure_user(session, user_id, user_id, DEMO_PASSWORD)
        for unit in units or (None,):
            grant(session, user_id, role, unit)


def open_batch(app: Flask, title: str) -> str:
    """Open one more batch in all three units through the engine services (as the demo does)."""
    db, clock = app.extensions["cadreflow"].db, SystemClock()
    view = cases.start_case(db, clock, "li_org", "reserve_selection")
    task = next(t for t in view.ready if t.element_id == "open_batch")
    cases.complete_task(db, clock, "li_org", task.id, open_batch_data(title))
    return view.id


def post_claim(client: FlaskClient, task_id: str, action: str, next_url: str = "/") -> Any:
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(f"/tasks/{task_id}/{action}", data={"csrf_token": token, "next": next_url})


# ---------------------------------------------------------------------------------------------------
# Who sees what


def test_not_signed_in_goes_to_the_login_page(web_app: Flask) -> None:
    client = web_app.test_client()
    for path in ("/", "/done", "/?view=mine&unit=xihe"):
        response = client.get(path)
        assert response.status_code == 302
        target = urlsplit(response.headers["Location"])
        assert target.path == "/login"
        assert parse_qs(target.query)["next"][0].startswith(path.split("?")[0])


@pytest.mark.parametrize(
    ("user", "element", "about"),
    [
        ("uc_dongcheng", "nominate", "Dongcheng township"),
        ("uc_xihe", "nominate", "Xihe town"),
        ("uc_bayin", "nominate", "Bayin gacha"),
        ("wang_exam", "record_exam_scores", "—"),
        ("sun_jw", "discipline_opinion", "—"),
        ("zhou_jisheng", "family_planning_opinion", "—"),
    ],
)
def test_each_role_sees_exactly_its_ready_tasks(web_app: Flask, user: str, element: str, about: str) -> None:
    doc = page(sign_in(web_app, user), "/")
    found = rows(doc)
    assert [r["element"] for r in found] == [element]
    row = found[0]
    assert row["about"] == about
    assert row["open"] == f"/tasks/{row['id']}"
    assert row["batch_href"].startswith("/cases/c-")
    assert row["claimed_by"] == "nobody" and row["buttons"] == ["Claim"]
    assert tab_counts(doc) == {"all": 1, "mine": 0, "available": 1}
    assert select(doc, "#signed-in-as")[0].text == user


def test_task_names_and_batches_are_shown_in_the_current_language(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    row = rows(page(client, "/"))[0]
    assert row["name"] == "Record exam scores"
    assert row["batch"] == "2027 reserve cadres, third batch"
    token = csrf_from(client.get("/").get_data(as_text=True))
    client.post("/lang/zh", data={"csrf_token": token, "next": "/"})
    doc = page(client, "/")
    row = rows(doc)[0]
    assert row["name"] == "录入考试成绩"
    assert row["batch"] == "2027年第三批后备干部"
    assert options(doc, "task") == {"record_exam_scores": "录入考试成绩 (1)"}


def test_unit_committees_see_only_their_own_units_nomination(web_app: Flask) -> None:
    xihe = rows(page(sign_in(web_app, "uc_xihe"), "/"))
    dongcheng = rows(page(sign_in(web_app, "uc_dongcheng"), "/"))
    assert [r["about"] for r in dongcheng] == ["Dongcheng township"]
    assert [r["about"] for r in xihe] == ["Xihe town"]
    assert xihe[0]["id"] != dongcheng[0]["id"]
    assert dongcheng[0]["batch"] == xihe[0]["batch"] == FOURTH


@pytest.mark.parametrize("user", ["zhao_insp", "wu_changwei"])
def test_roles_without_ready_work_get_an_empty_inbox(web_app: Flask, user: str) -> None:
    doc = page(sign_in(web_app, user), "/")
    assert rows(doc) == []
    assert not select(doc, "#inbox-table")
    assert "Your inbox is empty" in select(doc, "#inbox-empty")[0].text_content()
    assert tab_counts(doc) == {"all": 0, "mine": 0, "available": 0}


def test_the_department_pairs_each_new_cadre_with_a_mentor(web_app: Flask) -> None:
    """The demo's admitted cadres have their files open: the department's inbox asks for pairings."""
    doc = page(sign_in(web_app, "li_org"), "/")
    assert len(rows(doc)) == 4
    assert tab_counts(doc) == {"all": 4, "mine": 0, "available": 4}


def test_overdue_tasks_are_marked(web_app: Flask) -> None:
    # The second batch has waited at the opinions for weeks; the fourth was opened yesterday.
    opinion = rows(page(sign_in(web_app, "sun_jw"), "/"))[0]
    assert opinion["overdue"] and "overdue" in opinion["due"]
    nomination = rows(page(sign_in(web_app, "uc_dongcheng"), "/"))[0]
    assert not nomination["overdue"] and "overdue" not in nomination["due"]


# ---------------------------------------------------------------------------------------------------
# Tabs, filters, counts, search, sort, pages


@pytest.fixture
def busy_app(make_web_app: Any) -> Flask:
    """The demo plus a fifth batch and ``uc_all``, a committee of all three units: six nominations
    (two batches × three units), four per page."""
    app: Flask = make_web_app(PAGE_SIZE=4)
    add_user(app, "uc_all", "unit_committee", "dongcheng", "xihe", "bayin")
    open_batch(app, FIFTH)
    return app


def test_filter_selects_offer_each_value_with_its_count(busy_app: Flask) -> None:
    doc = page(sign_in(busy_app, "uc_all"), "/")
    assert tab_counts(doc) == {"all": 6, "mine": 0, "available": 6}
    assert options(doc, "task") == {"nominate": "Screen and nominate (6)"}
    assert options(doc, "process") == {"reserve_selection": "reserve_selection (6)"}
    assert options(doc, "unit") == {
        "bayin": "Bayin gacha (2)",
        "dongcheng": "Dongcheng township (2)",
        "xihe": "Xihe town (2)",
    }
    batches = sorted(options(doc, "batch").values())
    assert batches == ["2027 reserve cadres, fifth batch (3)", f"{FOURTH} (3)"]
    assert select(doc, "#inbox-total")[0].text == "6 tasks"


def test_a_filter_narrows_the_rows_and_the_other_facets_counts(busy_app: Flask) -> None:
    client = sign_in(busy_app, "uc_all")
    doc = page(client, "/", unit="xihe")
    found = rows(doc)
    assert len(found) == 2 and {r["about"] for r in found} == {"Xihe town"}
    assert select(doc, "#filter-unit option[selected]")[0].get("value") == "xihe"
    # Its own facet keeps counting as if unfiltered; the others count within the filter.
    assert options(doc, "unit")["dongcheng"] == "Dongcheng township (2)"
    assert sorted(options(doc, "batch").values())[0].endswith("(1)")
    assert tab_counts(doc) == {"all": 2, "mine": 0, "available": 2}
    # Tabs keep the filters (the page is bookmarkable), and "clear" drops them.
    mine = next(a for a in select(doc, "nav.tabs a.tab") if a.get("data-view") == "mine").get("href")
    assert parse_qs(urlsplit(mine).query) == {"unit": ["xihe"], "view": ["mine"]}
    assert select(doc, ".filter-actions a.reset")[0].get("href") == "/"
    batch = next(v for v, text in options(doc, "batch").items() if text.startswith(FOURTH))
    both = rows(page(client, "/", unit="xihe", batch=batch))
    assert [(r["about"], r["batch"]) for r in both] == [("Xihe town", FOURTH)]


def test_search_matches_the_batch_name(busy_app: Flask) -> None:
    client = sign_in(busy_app, "uc_all")
    found = rows(page(client, "/", q="FIFTH"))
    assert len(found) == 3 and {r["batch"] for r in found} == {"2027 reserve cadres, fifth batch"}
    doc = page(client, "/", q="no such batch")
    assert rows(doc) == []
    assert "No tasks match these filters." in select(doc, "#inbox-empty")[0].text_content()
    assert select(doc, "#filter-q")[0].get("value") == "no such batch"


def test_sort_by_due_date_both_ways_and_by_creation(busy_app: Flask) -> None:
    client = sign_in(busy_app, "uc_all")
    soonest = [r["batch"] for r in rows(page(client, "/", sort="due"))]
    assert soonest[:3] == [FOURTH] * 3  # opened yesterday: due first
    latest = [r["batch"] for r in rows(page(client, "/", sort="-due"))]
    assert latest[:3] == ["2027 reserve cadres, fifth batch"] * 3
    created = [r["batch"] for r in rows(page(client, "/", sort="created"))]
    assert created[:3] == [FOURTH] * 3
    doc = page(client, "/", sort="-due")
    assert select(doc, "#filter-sort option[selected]")[0].get("value") == "-due"


def test_pagination_splits_the_rows_and_keeps_the_filters(busy_app: Flask) -> None:
    client = sign_in(busy_app, "uc_all")
    first = page(client, "/", sort="-due")
    second_link = next(a.get("href") for a in select(first, "nav.pagination a") if a.text == "2")
    assert parse_qs(urlsplit(second_link).query) == {"sort": ["-due"], "page": ["2"]}
    assert select(first, "nav.pagination .current")[0].text == "1"
    second = page(client, second_link)
    one, two = rows(first), rows(second)
    assert len(one) == 4 and len(two) == 2
    assert not {r["id"] for r in one} & {r["id"] for r in two}
    assert select(second, "nav.pagination .current")[0].text == "2"
    assert [r["batch"] for r in two] == [FOURTH, FOURTH]
    # A page past the end shows the last page; nonsense values fall back to the defaults.
    assert len(rows(page(client, "/", page=99))) == 2
    assert len(rows(page(client, "/", page="x", view="bogus", sort="bogus"))) == 4


# ---------------------------------------------------------------------------------------------------
# Claim and unclaim


def test_claim_and_unclaim_from_the_inbox(web_app: Flask) -> None:
    add_user(web_app, "uc_dongcheng_2", "unit_committee", "dongcheng")
    client = sign_in(web_app, "uc_dongcheng")
    task = rows(page(client, "/"))[0]
    response = post_claim(client, task["id"], "claim", next_url="/?view=available")
    assert response.status_code == 302 and response.headers["Location"] == "/?view=available"
    doc = page(client, "/")
    assert flashes(doc) == ["Claimed: Screen and nominate"]
    row = rows(doc)[0]
    assert row["claimed_by"] == "you" and row["buttons"] == ["Unclaim"]
    assert tab_counts(doc) == {"all": 1, "mine": 1, "available": 0}
    assert [r["id"] for r in rows(page(client, "/", view="mine"))] == [task["id"]]
    assert rows(page(client, "/", view="available")) == []
    # The other member of the committee no longer sees it, and cannot take it.
    other = sign_in(web_app, "uc_dongcheng_2")
    assert rows(page(other, "/")) == []
    taken = post_claim(other, task["id"], "claim")
    assert taken.status_code == 302
    assert "Someone else was quicker" in flashes(page(other, "/"))[0]
    # Giving it back makes it available again (to both).
    response = post_claim(client, task["id"], "unclaim")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    doc = page(client, "/")
    assert flashes(doc) == ["Given back: Screen and nominate"]
    assert rows(doc)[0]["claimed_by"] == "nobody"
    assert [r["id"] for r in rows(page(other, "/"))] == [task["id"]]


def test_claim_never_redirects_off_site(web_app: Flask) -> None:
    client = sign_in(web_app, "uc_dongcheng")
    task = rows(page(client, "/"))[0]
    response = post_claim(client, task["id"], "claim", next_url="//evil.example/")
    assert response.headers["Location"] == "/"


def test_claiming_another_units_task_is_404_and_changes_nothing(web_app: Flask) -> None:
    xihe_task = rows(page(sign_in(web_app, "uc_xihe"), "/"))[0]["id"]
    client = sign_in(web_app, "uc_dongcheng")
    for task_id in (xihe_task, "no-such-task"):
        for action in ("claim", "unclaim"):
            response = post_claim(client, task_id, action)
            assert response.status_code == 404
            assert "Not found" in response.get_data(as_text=True)
    assert rows(page(sign_in(web_app, "uc_xihe"), "/"))[0]["claimed_by"] == "nobody"


def test_claim_without_the_csrf_token_is_refused(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task = rows(page(client, "/"))[0]
    response = client.post(f"/tasks/{task['id']}/claim", data={"next": "/"})
    assert response.status_code == 400
    response = client.post(f"/tasks/{task['id']}/claim", data={"csrf_token": "forged", "next": "/"})
    assert response.status_code == 400
    assert rows(page(client, "/"))[0]["claimed_by"] == "nobody"


# ---------------------------------------------------------------------------------------------------
# Done


def done_rows(doc: Any) -> list[dict[str, str]]:
    return [
        {
            "task": select(tr, "td.task-name")[0].text_content().strip(),
            "batch": select(tr, "td.batch")[0].text_content().strip(),
            "href": select(tr, "td.batch a")[0].get("href"),
            "at": select(tr, "td.completed-at")[0].text_content().strip(),
        }
        for tr in select(doc, "#done-table tbody tr")
    ]


def test_done_lists_my_completed_tasks_newest_first(web_app: Flask) -> None:
    done = done_rows(page(sign_in(web_app, "wang_exam"), "/done"))
    assert [d["task"] for d in done] == ["Record exam scores", "Record exam scores"]
    assert [d["batch"] for d in done] == [
        "2027 reserve cadres, second batch",
        "2027 reserve cadres, first batch",
    ]
    assert done[0]["at"] > done[1]["at"]
    assert all(d["href"].startswith("/cases/c-") for d in done)
    empty = page(sign_in(web_app, "chen_dangxiao"), "/done")
    assert done_rows(empty) == [] and select(empty, "#done-empty")


def test_done_is_paginated(make_web_app: Any) -> None:
    client = sign_in(make_web_app(PAGE_SIZE=1), "wang_exam")
    first = page(client, "/done")
    assert [d["batch"] for d in done_rows(first)] == ["2027 reserve cadres, second batch"]
    link = next(a.get("href") for a in select(first, "nav.pagination a") if a.text == "2")
    assert [d["batch"] for d in done_rows(page(client, link))] == ["2027 reserve cadres, first batch"]
