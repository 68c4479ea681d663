"""The task page (``/tasks/<id>``) over the demo data: what it shows, drafts, completion, and refusals.

The exam office's ``record_exam_scores`` of the third batch is the main subject: its form is prefilled
with one row per remaining candidate, its context lists them, and its rules (scores 0-100, one entry per
candidate) are the engine's. Forms are submitted the way a browser would (``submitted_fields``).
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select as sql_select
from werkzeug.datastructures import MultiDict

from engine import cases
from engine.demo import DEMO_PASSWORD, SCORES
from engine.directory import ensure_user, grant
from engine.store.models import HumanTask
from tests.webui.conftest import csrf_from, select, sign_in, submitted_fields

THIRD = "2027 reserve cadres, third batch"
REMAINING = [
    "d01",
    "d02",
    "d03",
    "d04",
    "d05",
    "x01",
    "x02",
    "x03",
    "x04",
    "x05",
    "b01",
    "b02",
    "b03",
    "b04",
    "b05",
]


# ---------------------------------------------------------------------------------------------------
# Helpers


def html(response: Any) -> Any:
    return lxml.html.fromstring(response.get_data(as_text=True))


def inbox_ids(client: FlaskClient, element: str | None = None) -> list[str]:
    doc = html(client.get("/"))
    return [
        tr.get("data-task-id")
        for tr in select(doc, "#inbox-table tbody tr")
        if element is None or tr.get("data-element") == element
    ]


def exam_task(client: FlaskClient) -> str:
    (task_id,) = inbox_ids(client, "record_exam_scores")
    return task_id


def task_form(doc: Any) -> Any:
    return select(doc, "#task-form form")[0]


def score_fields(doc: Any) -> dict[str, str]:
    """``{candidate: score shown}`` of the exam form's rows."""
    out = {}
    for tr in select(doc, "#f-scores tbody tr[data-row]"):
        chosen = select(tr, "select option[selected]")[0].get("value")
        out[chosen] = select(tr, "input")[0].get("value")
    return out


def scores_data(doc: Any, scores: dict[str, float | None], action: str) -> list[tuple[str, str]]:
    """The exam form as a browser submits it, with ``scores`` typed into the rows."""
    fields = submitted_fields(task_form(doc))
    candidates = {
        m.group(1): value for name, value in fields if (m := re.match(r"scores\[(\d+)\]\[candidate\]$", name))
    }
    typed = {
        f"scores[{index}][score]": "" if scores.get(c) is None else str(scores[c])
        for index, c in candidates.items()
        if c in scores
    }
    return [(name, typed.get(name, value)) for name, value in fields] + [("action", action)]


def flashes(doc: Any) -> list[str]:
    return [p.text_content().strip() for p in select(doc, "p.flash")]


def add_user(app: Flask, user_id: str, role: str, unit: str | None = None) -> None:
    with app.extensions["cadreflow"].db.write() as session:
        ensure_user(session, user_id, user_id, DEMO_PASSWORD)
        grant(session, user_id, role, unit)


def ready_exam_tasks(app: Flask) -> list[str]:
    """The ids of the ready ``record_exam_scores`` tasks, read from the database."""
    with app.extensions["cadreflow"].db.read() as session:
        query = sql_select(HumanTask.id).where(
            HumanTask.element_id == "record_exam_scores", HumanTask.status == "ready"
        )
        return list(session.scalars(query))


# ---------------------------------------------------------------------------------------------------
# What the page shows


def test_the_exam_page_shows_the_task_its_context_and_the_prefilled_form(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    doc = html(response)
    assert select(doc, "#task-title")[0].text == "Record exam scores"
    batch = select(doc, "#task-batch a")[0]
    assert batch.text == THIRD and batch.get("href").startswith("/cases/c-")
    assert "leave it empty for an absent candidate" in select(doc, "#instructions")[0].text_content()
    assert "/" not in select(doc, "#instructions")[0].text_content()  # one language only
    # The context: the candidates as a table (headers in the page's language), and the pass mark.
    table = select(doc, "#case-context table")[0]
    assert [th.text for th in select(table, "thead th")] == ["Candidate", "Name", "Unit"]
    cells = [[td.text for td in select(tr, "td")] for tr in select(table, "tbody tr")]
    assert [c[0] for c in cells] == REMAINING
    assert cells[2] == ["d03", "Yang Jing 杨静", "dongcheng"]
    texts = [p.text_content().split() for p in select(doc, "#case-context p.context-text")]
    assert texts == [["Pass", "mark", "60"]]
    # The form: one row per remaining candidate, scores empty, nothing disabled.
    assert score_fields(doc) == dict.fromkeys(REMAINING, "")
    assert select(doc, "#f-scores__col-score")[0].text_content().startswith("Score (empty = absent)")
    assert not select(doc, "#task-form fieldset[disabled]")
    buttons = {b.get("value"): b.text for b in select(doc, "#task-form button[name]")}
    assert buttons == {"save_draft": "Save draft", "complete": "Complete"}
    assert select(doc, "#claim-button") and not select(doc, "#claimed-elsewhere")
    assert select(doc, "#task-claimed-by")[0].text_content().strip() == "nobody"


def test_the_page_speaks_chinese_too(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    client.post(
        "/lang/zh", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True)), "next": "/"}
    )
    doc = html(client.get(f"/tasks/{task_id}"))
    assert doc.get("lang") == "zh-CN"
    assert select(doc, "#task-title")[0].text == "录入考试成绩"
    assert select(doc, "#task-batch a")[0].text == "2027年第三批后备干部"
    assert [th.text for th in select(doc, "#case-context thead th")] == ["人选", "姓名", "单位"]
    assert select(doc, "#f-scores caption")[0].text_content().startswith("成绩")


@pytest.mark.parametrize(
    "user", ["uc_dongcheng", "uc_xihe", "uc_bayin", "wang_exam", "sun_jw", "zhou_jisheng"]
)
def test_every_demo_task_page_renders(web_app: Flask, user: str) -> None:
    client = sign_in(web_app, user)
    for task_id in inbox_ids(client):
        response = client.get(f"/tasks/{task_id}")
        assert response.status_code == 200
        doc = html(response)
        assert select(doc, "#task-form .jsonform") and select(doc, "#task-title")[0].text


def test_not_signed_in_goes_to_the_login_page(web_app: Flask) -> None:
    response = web_app.test_client().get("/tasks/anything")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/tasks/anything")


# ---------------------------------------------------------------------------------------------------
# Refusals: other units' tasks, CSRF, unknown actions


def test_another_units_task_is_404_like_a_task_that_does_not_exist(web_app: Flask) -> None:
    xihe_task = inbox_ids(sign_in(web_app, "uc_xihe"))[0]
    client = sign_in(web_app, "uc_dongcheng")
    token = csrf_from(client.get("/").get_data(as_text=True))
    pages = []
    for task_id in (xihe_task, "no-such-task"):
        response = client.get(f"/tasks/{task_id}")
        assert response.status_code == 404
        pages.append(select(html(response), "main")[0].text_content().split())
        for action in ("complete", "save_draft"):
            posted = client.post(f"/tasks/{task_id}", data={"csrf_token": token, "action": action})
            assert posted.status_code == 404
    assert pages[0] == pages[1]  # nothing tells the two apart
    # A role that has nothing to do with the task: also 404.
    wang = sign_in(web_app, "wang_exam")
    assert wang.get(f"/tasks/{xihe_task}").status_code == 404
    assert inbox_ids(sign_in(web_app, "uc_xihe")) == [xihe_task]


def test_posting_without_the_csrf_token_is_400_and_changes_nothing(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    data = [(k, v) for k, v in scores_data(doc, SCORES, "complete") if k != "csrf_token"]
    response = client.post(f"/tasks/{task_id}", data=MultiDict(data))
    assert response.status_code == 400
    assert ready_exam_tasks(web_app) == [task_id]


def test_an_unknown_action_is_400(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert client.post(f"/tasks/{task_id}", data={"csrf_token": token, "action": "delete"}).status_code == 400


# ---------------------------------------------------------------------------------------------------
# Completing


def test_invalid_data_is_422_with_the_message_beside_the_field_and_nothing_changed(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    typed = dict(SCORES, d02=150)
    response = client.post(f"/tasks/{task_id}", data=MultiDict(scores_data(doc, typed, "complete")))
    assert response.status_code == 422
    page = html(response)
    error = select(page, "#f-scores-1-score__error")[0]
    assert "100" in error.text_content()
    assert select(page, "#f-scores-1-score")[0].get("aria-describedby").startswith("f-scores-1-score__error")
    assert select(page, "#f-scores-0-score__error")[0].text_content() == ""
    # The submitted values are kept, and the page says what went wrong at the top.
    shown = score_fields(page)
    assert shown["d02"] == "150" and shown["d01"] == "88.5" and shown["b05"] == ""
    summary = select(page, "#problem-summary")[0].text_content()
    assert "The task was not completed." in summary and "1 field needs correcting." in summary
    assert not select(page, "#f-form__error")[0].get("hidden")
    # Nothing changed: the task is still ready and in the inbox, no draft was saved.
    assert ready_exam_tasks(web_app) == [task_id]
    assert inbox_ids(client) == [task_id]
    assert score_fields(html(client.get(f"/tasks/{task_id}"))) == dict.fromkeys(REMAINING, "")


def test_a_field_error_is_in_the_readers_language(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    data = MultiDict(scores_data(doc, dict(SCORES, d02=150), "complete"))
    english = html(client.post(f"/tasks/{task_id}", data=data))
    assert select(english, "#f-scores-1-score__error")[0].text_content().strip() == "must be at most 100"
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    chinese = html(client.post(f"/tasks/{task_id}", data=data))
    assert select(chinese, "#f-scores-1-score__error")[0].text_content().strip() == "不得大于 100"


def test_a_rule_error_is_shown_at_its_field(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    data = [(k, v) for k, v in scores_data(doc, SCORES, "complete") if not k.startswith("scores[14]")]
    response = client.post(f"/tasks/{task_id}", data=MultiDict(data))
    assert response.status_code == 422
    page = html(response)
    assert "one entry for each remaining candidate" in select(page, "#f-scores__error")[0].text_content()
    assert len(score_fields(page)) == 14


def test_valid_data_completes_the_task_and_says_so(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    response = client.post(f"/tasks/{task_id}", data=MultiDict(scores_data(doc, SCORES, "complete")))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    inbox = html(client.get("/"))
    assert flashes(inbox) == [f"Completed: Record exam scores — {THIRD}"]
    assert not select(inbox, "#inbox-table") and select(inbox, "#inbox-empty")
    assert ready_exam_tasks(web_app) == []
    done = [tr.text_content() for tr in select(html(client.get("/done")), "#done-table tbody tr")]
    assert len(done) == 3 and THIRD in done[0]
    # The case went on: the inspection team now has its visits, each about a named candidate,
    # and can find one by the candidate's name.
    zhao = sign_in(web_app, "zhao_insp")
    abouts = [td.text_content().strip() for td in select(html(zhao.get("/")), "#inbox-table td.about")]
    assert abouts and all(re.search(r"\([dxb]\d\d\)$", a) for a in abouts)
    name = abouts[0].split(" (")[0].split()[0]
    found = select(html(zhao.get("/", query_string={"q": name})), "#inbox-table td.about")
    assert [td.text_content().strip() for td in found] == [abouts[0]]
    # Posting again: the task is gone, which is said on the inbox (not an error page).
    again = client.post(f"/tasks/{task_id}", data=MultiDict(scores_data(doc, SCORES, "complete")))
    assert again.status_code == 302
    assert "Someone else was quicker" in flashes(html(client.get("/")))[0]


# ---------------------------------------------------------------------------------------------------
# Drafts


def test_a_saved_draft_is_shown_when_the_page_is_opened_again(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    doc = html(client.get(f"/tasks/{task_id}"))
    response = client.post(
        f"/tasks/{task_id}", data=MultiDict(scores_data(doc, {"d01": 77.5, "x03": 120}, "save_draft"))
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    page = html(client.get(f"/tasks/{task_id}"))
    assert flashes(page) == ["Draft saved"]
    assert select(page, "#draft-note")
    shown = score_fields(page)
    assert shown["d01"] == "77.5" and shown["x03"] == "120" and shown["d02"] == ""  # a draft is not validated
    assert ready_exam_tasks(web_app) == [task_id]
    # Nobody else sees it: another exam officer gets the prefilled form.
    add_user(web_app, "wang_exam_2", "exam_office")
    other = html(sign_in(web_app, "wang_exam_2").get(f"/tasks/{task_id}"))
    assert score_fields(other) == dict.fromkeys(REMAINING, "") and not select(other, "#draft-note")


# ---------------------------------------------------------------------------------------------------
# Claims


def test_claim_and_unclaim_on_the_task_page(web_app: Flask) -> None:
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    here = f"/tasks/{task_id}"
    response = client.post(f"{here}/claim", data={"csrf_token": token, "next": here})
    assert response.status_code == 302 and response.headers["Location"] == here
    page = html(client.get(here))
    assert flashes(page) == ["Claimed: Record exam scores"]
    assert select(page, "#task-claimed-by")[0].text_content().strip() == "you"
    assert select(page, "#unclaim-button") and not select(page, "#claim-button")
    assert not select(page, "#task-form fieldset[disabled]")
    response = client.post(f"{here}/unclaim", data={"csrf_token": token, "next": here})
    page = html(client.get(here))
    assert flashes(page) == ["Given back: Record exam scores"]
    assert select(page, "#claim-button")


def test_a_task_claimed_by_someone_else_is_read_only(web_app: Flask) -> None:
    add_user(web_app, "wang_exam_2", "exam_office")
    client = sign_in(web_app, "wang_exam")
    task_id = exam_task(client)
    cases.claim_task(
        web_app.extensions["cadreflow"].db, web_app.extensions["cadreflow"].clock, "wang_exam_2", task_id
    )
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    page = html(response)
    assert "wang_exam_2" in select(page, "#claimed-elsewhere")[0].text_content()
    assert select(page, "#task-claimed-by")[0].text_content().strip() == "wang_exam_2"
    assert select(page, "#task-form fieldset[disabled]")
    assert not select(page, "#claim-button") and not select(page, "#unclaim-button")
    assert submitted_fields(task_form(page)) == [("csrf_token", csrf_from(response.get_data(as_text=True)))]
    # Posting anyway (an old tab): refused without changing anything, explained on the inbox.
    doc = html(client.get(f"/tasks/{task_id}"))
    token = csrf_from(client.get("/").get_data(as_text=True))
    data = [("csrf_token", token), ("action", "complete")]
    data += [(f"scores[{i}][candidate]", c) for i, c in enumerate(REMAINING)]
    for action in ("complete", "save_draft"):
        posted = client.post(
            f"/tasks/{task_id}", data=MultiDict([(k, action if k == "action" else v) for k, v in data])
        )
        assert posted.status_code == 302 and posted.headers["Location"] == "/"
        assert "Someone else was quicker" in flashes(html(client.get("/")))[0]
    assert ready_exam_tasks(web_app) == [task_id]
    assert select(doc, "#task-form fieldset[disabled]")
