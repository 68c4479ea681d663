"""The JSON API: same actions as the pages, one error shape, the right statuses, no leaks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.demo import DEMO_PASSWORD, run_demo
from engine.store.db import Database
from webui.app import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{folder / 'api.db'}"
    run_demo(Database(url), lambda _line: None)
    yield create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "api-tests", "VAR_DIR": str(folder), "TESTING": True}
    )


def client_for(app: Flask, user: str | None) -> tuple[FlaskClient, str]:
    """A client signed in as ``user`` (None: anonymous) and its CSRF token."""
    client = app.test_client()
    if user is None:
        return client, ""
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"user_id": user, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    session = client.get("/api/session").get_json()
    assert session["user"] == user
    return client, session["csrf_token"]


def tasks_of(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get("/api/tasks", query_string=query)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert set(body) >= {"error", "message", "fields"} and body["error"] == code, body
    return body


def test_not_signed_in_is_401_with_the_error_shape(app: Flask) -> None:
    client, _ = client_for(app, None)
    for path in ("/api/tasks", "/api/session", "/api/cases/c-anything", "/api/tasks/x"):
        assert_error(client.get(path), 401, "unauthorized")


def test_each_unit_committee_sees_only_its_own_units_tasks(app: Flask) -> None:
    for unit in ("dongcheng", "xihe", "bayin"):
        client, _ = client_for(app, f"uc_{unit}")
        items = tasks_of(client)["items"]
        assert "nominate" in {t["element_id"] for t in items}  # the fourth batch waits for nominations
        assert {t["unit_id"] for t in items} == {unit}


def test_another_units_task_is_404_not_403(app: Flask) -> None:
    xihe, _ = client_for(app, "uc_xihe")
    xihe_task = tasks_of(xihe)["items"][0]["id"]
    dongcheng, token = client_for(app, "uc_dongcheng")
    assert_error(dongcheng.get(f"/api/tasks/{xihe_task}"), 404, "not_found")
    assert_error(dongcheng.get("/api/tasks/no-such-task"), 404, "not_found")


def test_task_detail_has_schema_and_prefilled_data(app: Flask) -> None:
    client, _ = client_for(app, "wang_exam")
    task = next(t for t in tasks_of(client)["items"] if t["element_id"] == "record_exam_scores")
    detail = client.get(f"/api/tasks/{task['id']}").get_json()
    assert detail["schema"]["properties"]["scores"]["type"] == "array"
    assert len(detail["values"]["scores"]) == len(detail["choices"]["scores[].candidate"]) > 0


def test_post_without_csrf_header_is_403(app: Flask) -> None:
    client, _ = client_for(app, "wang_exam")
    task = tasks_of(client)["items"][0]["id"]
    assert_error(client.post(f"/api/tasks/{task}/claim"), 403, "forbidden")


def test_claim_conflict_and_complete_flow(app: Flask) -> None:
    sun, sun_token = client_for(app, "sun_jw")
    task = next(t for t in tasks_of(sun)["items"] if t["element_id"] == "discipline_opinion")
    claimed = sun.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": sun_token})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "sun_jw"
    assert tasks_of(sun, view="mine")["total"] >= 1

    other, other_token = client_for(app, "li_org")  # sees the task exists (same case) but lacks the role
    body = assert_error(
        other.post(
            f"/api/tasks/{task['id']}/complete", json={"opinions": []}, headers={"X-CSRF-Token": other_token}
        ),
        403,
        "forbidden",
    )
    assert "discipline_inspection" in body["message"]

    detail = sun.get(f"/api/tasks/{task['id']}").get_json()
    invalid = sun.post(
        f"/api/tasks/{task['id']}/complete", json={"opinions": []}, headers={"X-CSRF-Token": sun_token}
    )
    body = assert_error(invalid, 422, "invalid")
    assert "opinions" in body["fields"]

    done = sun.post(
        f"/api/tasks/{task['id']}/complete",
        json={"data": detail["values"]},
        headers={"X-CSRF-Token": sun_token},
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert task["id"] not in {t["id"] for t in tasks_of(sun)["items"]}
    again = sun.post(
        f"/api/tasks/{task['id']}/complete",
        json={"data": detail["values"]},
        headers={"X-CSRF-Token": sun_token},
    )
    assert_error(again, 409, "conflict")


def test_case_endpoint_respects_visibility(app: Flask) -> None:
    li, _ = client_for(app, "li_org")
    uc, _ = client_for(app, "uc_bayin")
    bayin_case = tasks_of(uc)["items"][0]["case_id"]
    case = li.get(f"/api/cases/{bayin_case}").get_json()
    assert case["case"]["id"] == bayin_case and "bpmn_xml" not in case
    assert "nominate" in case["active"]
    school, _ = client_for(app, "chen_dangxiao")
    assert_error(school.get(f"/api/cases/{bayin_case}"), 404, "not_found")
    assert_error(li.get("/api/cases/c-does-not-exist"), 404, "not_found")


def test_filters_and_pagination(app: Flask) -> None:
    li, _ = client_for(app, "li_org")
    uc, _ = client_for(app, "uc_dongcheng")
    page = tasks_of(uc, page_size=1)
    assert page["total"] == len(tasks_of(uc)["items"]) and len(page["items"]) == 1
    assert tasks_of(uc, task="record_exam_scores")["total"] == 0
    assert li.get("/api/tasks", query_string={"page": 999}).status_code == 200


def test_acting_on_another_units_task_is_404_for_every_action(app: Flask) -> None:
    xihe, _ = client_for(app, "uc_xihe")
    xihe_task = tasks_of(xihe)["items"][0]["id"]
    dongcheng, token = client_for(app, "uc_dongcheng")
    headers = {"X-CSRF-Token": token}
    for action, body in (("claim", None), ("unclaim", None), ("complete", {"nominees": []})):
        response = dongcheng.post(f"/api/tasks/{xihe_task}/{action}", json=body, headers=headers)
        assert_error(response, 404, "not_found")
