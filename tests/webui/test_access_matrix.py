"""Every page and API route, for every demo user: allowed, or refused without leaking existence.

The expectations come from the engine's own answers (the inbox a user gets, the cases they may view),
not from a copy of the rules: for each user, each route over every existing task and case must answer
200 exactly when the engine lets them, and otherwise 403/404 — and a 404 for something that exists
must look the same as the 404 for something that does not.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.case_views import may_view_case
from engine.demo import USERS
from engine.directory import load_actor
from engine.inbox import InboxFilters, inbox_page
from engine.store.models import Case, HumanTask
from tests.webui.conftest import csrf_from, sign_in

EVERY_USER = [user for user, _name, _role, _unit in USERS]
CSRF = re.compile(r'name="csrf_token" value="[^"]+"')


def _engine_view(app: Flask, user: str) -> tuple[set[str], set[str], list[str], list[str]]:
    """(tasks the user may act on, cases the user may view, all ready task ids, all case ids)."""
    db = app.extensions["cadreflow"].db
    clock = app.extensions["cadreflow"].clock
    mine = {i.id for i in inbox_page(db, user, InboxFilters(page_size=200), clock.now()).items}
    with db.read() as session:
        actor = load_actor(session, user)
        all_cases = list(session.scalars(select(Case)))
        visible = {c.id for c in all_cases if may_view_case(session, actor, c)}
        case_ids = [c.id for c in all_cases]
        ready = list(session.scalars(select(HumanTask.id).where(HumanTask.status == "ready")))
    return mine, visible, ready, case_ids


NEXT = re.compile(r'name="next" value="[^"]*"')


def _normalised(body: str) -> str:
    """The page without what differs by request anyway: the CSRF token and the language switch's
    way back to the requested path."""
    return NEXT.sub("", CSRF.sub("", body))


@pytest.mark.parametrize("user", EVERY_USER)
def test_pages_and_api_answer_each_user_as_the_engine_allows(web_app: Flask, user: str) -> None:
    client = sign_in(web_app, user)
    mine, visible, ready, all_cases = _engine_view(web_app, user)
    assert client.get("/").status_code == 200
    assert client.get("/done").status_code == 200
    actor_roles = {role for u, _n, role, _unit in USERS if u == user}
    batches = client.get("/batches").status_code
    assert batches == (200 if actor_roles & {"org_department", "auditor"} else 403)

    missing_page = _normalised(client.get("/tasks/no-such-task").get_data(as_text=True))
    for task_id in ready:
        page = client.get(f"/tasks/{task_id}")
        api = client.get(f"/api/tasks/{task_id}")
        if task_id in mine:
            assert page.status_code == 200 and api.status_code == 200, (user, task_id)
        else:
            assert page.status_code == 404 and api.status_code == 404, (user, task_id)
            assert _normalised(page.get_data(as_text=True)) == missing_page  # no hint it exists
            assert api.get_json()["error"] == "not_found"

    missing_case = _normalised(client.get("/cases/c-none").get_data(as_text=True))
    for case_id in all_cases:
        responses = [
            client.get(path)
            for path in (f"/cases/{case_id}", f"/cases/{case_id}/diagram.bpmn", f"/api/cases/{case_id}")
        ]
        expected = 200 if case_id in visible else 404
        assert [r.status_code for r in responses] == [expected] * 3, (user, case_id)
        if expected == 404:
            assert _normalised(responses[0].get_data(as_text=True)) == missing_case


@pytest.mark.parametrize("user", ["uc_dongcheng", "wang_exam", "li_org"])
def test_actions_on_tasks_the_user_cannot_see_answer_like_missing_ones(web_app: Flask, user: str) -> None:
    client = sign_in(web_app, user)
    mine, _visible, ready, _cases = _engine_view(web_app, user)
    token = CSRF.search(client.get("/").get_data(as_text=True))
    assert token is not None
    csrf = token.group(0).split('value="')[1].rstrip('"')
    others = [t for t in ready if t not in mine]
    assert others, "the demo leaves tasks of other roles and units"
    for task_id in others:
        for path in (f"/tasks/{task_id}/claim", f"/tasks/{task_id}/unclaim"):
            response: Any = client.post(path, data={"csrf_token": csrf})
            assert response.status_code == 404, (user, path)
        response = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "action": "complete"})
        assert response.status_code == 404, (user, task_id)
    assert client.post("/tasks/no-such/claim", data={"csrf_token": csrf}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_and_the_api_says_401(web_app: Flask) -> None:
    client = web_app.test_client()
    with web_app.app_context():
        db = web_app.extensions["cadreflow"].db
        with db.read() as session:
            case_id = session.scalars(select(Case.id)).first()
    for path in ("/", "/done", "/batches", f"/cases/{case_id}", "/tasks/x"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path in ("/api/tasks", f"/api/cases/{case_id}", "/api/session"):
        assert client.get(path).status_code == 401


AUDIT_CASE_ROUTES = ("", "/at/1", "/diff?from=1&to=2", "/bundle.zip")


@pytest.mark.parametrize("user", EVERY_USER)
def test_audit_pages_are_for_auditors_alone(web_app: Flask, user: str) -> None:
    """Auditors see every case they may view; everyone else gets 403 for every audit route, the same
    for a case that exists and one that does not."""
    client = sign_in(web_app, user)
    _mine, visible, _ready, all_cases = _engine_view(web_app, user)
    auditor = "auditor" in {role for u, _n, role, _unit in USERS if u == user}
    token = CSRF.search(client.get("/").get_data(as_text=True))
    assert token is not None
    csrf = token.group(0).split('value="')[1].rstrip('"')
    for path in ("/audit", "/audit/log"):
        assert client.get(path).status_code == (200 if auditor else 403), (user, path)
    for case_id in [*all_cases, "c-none"]:
        expected = (200 if case_id in visible else 404) if auditor else 403
        for suffix in AUDIT_CASE_ROUTES:
            response = client.get(f"/audit/cases/{case_id}{suffix}")
            assert response.status_code == expected, (user, case_id, suffix)
        verify = client.post(f"/audit/cases/{case_id}/verify", data={"csrf_token": csrf})
        assert verify.status_code == expected, (user, case_id)
        exports = client.get(f"/audit/cases/{case_id}/candidates.csv").status_code
        if auditor and case_id in visible:
            assert exports in (200, 422)  # 422: not a selection batch
        else:
            assert exports == expected, (user, case_id)


def test_signed_out_visitors_are_sent_to_sign_in_from_the_audit_pages(web_app: Flask) -> None:
    client = web_app.test_client()
    for path in ("/audit", "/audit/log", "/audit/cases/c-none", "/audit/cases/c-none/at/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


DESIGNER_PAGES = [
    "/designer/",
    "/designer/reserve_selection/edit",
    "/designer/reserve_selection/versions",
    "/designer/reserve_selection/versions/1/diagram.bpmn",
    "/designer/reserve_selection/versions/1/export.zip",
    "/designer/reserve_selection/migrate",
    "/designer/spiffworkflow.json",
]
DESIGNER_CALLS = [
    ("/designer/api/reserve_selection/draft", {"files": {}}),
    ("/designer/api/reserve_selection/tests", {}),
    ("/designer/api/reserve_selection/deploy", {"why": "x"}),
    ("/designer/api/form-preview", {"yaml": "type: object"}),
]
DESIGNER_FORMS = [
    "/designer/new",
    "/designer/import",
    "/designer/reserve_selection/discard",
    "/designer/reserve_selection/migrate",
]


@pytest.mark.parametrize("user", EVERY_USER)
def test_the_designer_is_for_designers_only(web_app: Flask, user: str) -> None:
    client = sign_in(web_app, user)
    is_designer = any(u == user and role == "designer" for u, _n, role, _unit in USERS)
    token = CSRF.search(client.get("/").get_data(as_text=True))
    assert token is not None
    csrf = token.group(0).split('value="')[1].rstrip('"')
    for path in DESIGNER_PAGES:
        assert client.get(path).status_code == (200 if is_designer else 403), (user, path)
    if is_designer:
        return  # the designer's calls themselves: tests/webui/test_designer_pages.py
    for path, body in DESIGNER_CALLS:
        response = client.post(path, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 403 and response.get_json()["error"] == "forbidden", (user, path)
    for path in DESIGNER_FORMS:
        response = client.post(path, data={"csrf_token": csrf, "process_id": "x", "name": "x"})
        assert response.status_code == 403, (user, path)


def test_signed_out_visitors_get_no_designer_page_or_call(web_app: Flask) -> None:
    client = web_app.test_client()
    for path in DESIGNER_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for path, body in DESIGNER_CALLS:
        response = client.post(path, json=body, headers={"X-CSRF-Token": token})
        assert response.status_code == 401 and response.get_json()["error"] == "unauthorized", path
