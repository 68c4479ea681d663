"""The designer's pages and JSON calls over the demo data: drafts, validation problems located at their
elements, the form preview, tests, deployment, versions with their diff and export, migration's dry
run, import of foreign BPMN files, the Chinese UI. The browser half is tests/e2e/test_designer_in_browser.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import csrf_from, sign_in

ROOT = Path(__file__).resolve().parents[2]
BPMN = "processes/reserve_selection/reserve_selection.bpmn"
FLOW = "flow_gw_qualified_to_democratic_recommendation"
CONDITION = "len(qualified) &gt; 0"

DRAWING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="sketch" isExecutable="false">
    <bpmn:startEvent id="s" /><bpmn:task id="t" /><bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""
SERVICE = (
    DRAWING.replace(b'isExecutable="false"', b'isExecutable="true"')
    .replace(b'<bpmn:task id="t" />', b'<bpmn:serviceTask id="call_erp" />')
    .replace(b'targetRef="t"', b'targetRef="call_erp"')
    .replace(b'sourceRef="t"', b'sourceRef="call_erp"')
)


def script_json(html: str, element_id: str) -> str:
    """The text of the page's ``<script type="application/json" id=...>``."""
    return html.split(f'<script type="application/json" id="{element_id}">', 1)[1].split("</script>", 1)[0]


class Designer:
    """A test client signed in as the demo designer, with the JSON calls the editor's script makes."""

    def __init__(self, app: Flask) -> None:
        self.client: FlaskClient = sign_in(app, "gao_design")
        self.csrf = csrf_from(self.client.get("/designer/").get_data(as_text=True))

    def files(self, process_id: str) -> dict[str, str]:
        page = self.client.get(f"/designer/{process_id}/edit")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        files: dict[str, str] = json.loads(script_json(html, "draft-files"))
        return files

    def new_process(self, process_id: str, name: str) -> Any:
        form = {"process_id": process_id, "name": name, "csrf_token": self.csrf}
        return self.client.post("/designer/new", data=form)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def save(self, process_id: str, files: dict[str, str]) -> list[dict[str, Any]]:
        response = self.post(f"/designer/api/{process_id}/draft", {"files": files})
        assert response.status_code == 200, response.get_data(as_text=True)
        problems: list[dict[str, Any]] = response.get_json()["problems"]
        return problems


def test_the_process_list_shows_every_process_with_its_version_and_the_nav_link(web_app: Flask) -> None:
    designer = Designer(web_app)
    html = designer.client.get("/designer/").get_data(as_text=True)
    for process_id in ("reserve_selection", "timely_supplement", "reserve_cadre", "mass_supervision"):
        assert f'data-process="{process_id}"' in html
    assert 'id="nav-designer"' in html and "v1" in html
    other = sign_in(web_app, "li_org").get("/").get_data(as_text=True)
    assert 'id="nav-designer"' not in other


def test_the_editor_opens_a_draft_with_the_diagram_decision_forms_and_tests(web_app: Flask) -> None:
    files = Designer(web_app).files("reserve_selection")
    assert BPMN in files and "processes/reserve_selection/qualification.dmn" in files
    assert "forms/open_batch.schema.yaml" in files
    assert "processes/reserve_selection/tests/happy_path.test.yaml" in files


def test_saving_reports_each_problem_at_its_element_and_a_fixed_draft_has_none(web_app: Flask) -> None:
    designer = Designer(web_app)
    files = designer.files("reserve_selection")
    assert files[BPMN].count(CONDITION) == 1
    broken = dict(files, **{BPMN: files[BPMN].replace(CONDITION, "len(qualified &gt;")})
    problems = designer.save("reserve_selection", broken)
    assert [p["element_id"] for p in problems] == [FLOW]
    assert problems[0]["file"].endswith("reserve_selection.bpmn") and problems[0]["line"] > 1
    assert designer.files("reserve_selection")[BPMN] == broken[BPMN]  # saved anyway
    assert designer.save("reserve_selection", files) == []


def test_a_save_on_top_of_someone_elses_newer_save_is_refused_with_409(web_app: Flask) -> None:
    first, second = Designer(web_app), Designer(web_app)
    loaded = json.loads(
        script_json(
            first.client.get("/designer/reserve_selection/edit").get_data(as_text=True), "editor-config"
        )
    )
    files = first.files("reserve_selection")
    saved = second.post(
        "/designer/api/reserve_selection/draft", {"files": {**files, "forms/x.yaml": "a: 1\n"}}
    )
    assert saved.status_code == 200 and saved.get_json()["revision"] != loaded["revision"]
    stale = first.post(
        "/designer/api/reserve_selection/draft", {"files": files, "revision": loaded["revision"]}
    )
    assert stale.status_code == 409 and "saved this draft" in stale.get_json()["message"]
    assert "forms/x.yaml" in first.files("reserve_selection")  # the other save stands


def test_the_json_calls_need_the_csrf_header_and_a_json_body(web_app: Flask) -> None:
    designer = Designer(web_app)
    response = designer.client.post("/designer/api/reserve_selection/draft", json={"files": {}})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    response = designer.post("/designer/api/reserve_selection/draft", {"files": {"x": 1}})
    assert response.status_code == 422 and response.get_json()["error"] == "invalid"
    response = designer.post("/designer/api/reserve_selection/draft", {"files": {"../etc/passwd": "x"}})
    assert response.status_code == 422 and "path outside the process" in json.dumps(response.get_json())


def test_the_form_preview_renders_the_schema_and_names_the_line_of_a_yaml_error(web_app: Flask) -> None:
    designer = Designer(web_app)
    schema = "title: Leave / 请假\ntype: object\nproperties:\n  days: {type: integer, title: Days / 天数}\n"
    answer = designer.post("/designer/api/form-preview", {"yaml": schema})
    assert answer.status_code == 200
    assert 'name="days"' in answer.get_json()["html"] and answer.get_json()["title"] == "Leave"
    answer = designer.post("/designer/api/form-preview", {"yaml": "title: [unclosed\ntype: object\n"})
    assert answer.status_code == 422 and "line" in answer.get_json()["message"]
    answer = designer.post("/designer/api/form-preview", {"yaml": "- a list"})
    assert answer.status_code == 422


def test_a_new_process_is_tested_deployed_changed_compared_and_exported(web_app: Flask) -> None:
    designer = Designer(web_app)
    response = designer.new_process("leave_request", "Leave / 请假")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/designer/leave_request/edit")
    files = designer.files("leave_request")
    tests = designer.post("/designer/api/leave_request/tests", {"files": files}).get_json()
    assert tests["problems"] == [] and tests["results"] and all(r["passed"] for r in tests["results"])
    assert tests["results"][0]["line"].startswith("PASS ")

    refused = designer.post("/designer/api/leave_request/deploy", {"why": " "})
    assert refused.status_code == 422 and refused.get_json()["fields"] == {"why": "required"}
    first = designer.post("/designer/api/leave_request/deploy", {"files": files, "why": "first rules"})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["version"]["version"] == 1
    listed = designer.client.get("/designer/").get_data(as_text=True)
    assert 'data-process="leave_request"' in listed  # deployed, its draft gone, no folder: still listed

    bpmn = next(p for p in files if p.endswith(".bpmn"))
    files = designer.files("leave_request")  # a new draft, from version 1
    files[bpmn] = files[bpmn].replace('name="Review / 审核"', 'name="Check / 核对"')
    second = designer.post("/designer/api/leave_request/deploy", {"files": files, "why": "clearer name"})
    assert second.get_json()["version"]["version"] == 2

    page = designer.client.get("/designer/leave_request/versions").get_data(as_text=True)
    assert "first rules" in page and "clearer name" in page
    marks = json.loads(script_json(page, "diff-data"))
    assert marks == {"a": {"review": "changed"}, "b": {"review": "changed"}}
    assert 'data-element="review" data-change="changed"' in page
    diagram = designer.client.get("/designer/leave_request/versions/1/diagram.bpmn")
    assert diagram.status_code == 200 and b'name="Review / ' in diagram.data

    export = designer.client.get("/designer/leave_request/versions/1/export.zip")
    assert export.status_code == 200 and export.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(export.data)).namelist()
    assert bpmn in names and any(n.startswith("forms/") for n in names)
    assert designer.client.get("/designer/leave_request/versions/9/export.zip").status_code == 404


def test_a_failing_process_test_blocks_the_deployment_and_says_which(web_app: Flask) -> None:
    designer = Designer(web_app)
    designer.new_process("leave_check", "Check / 核对")
    files = designer.files("leave_check")
    test = next(p for p in files if p.endswith(".test.yaml"))
    files[test] = files[test].replace("finished: true", "finished: false")
    answer = designer.post("/designer/api/leave_check/deploy", {"files": files, "why": "try"})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid" and body["results"][0]["line"].startswith("FAIL ")
    assert designer.client.get("/designer/leave_check/versions").status_code == 404  # nothing deployed


def test_the_migration_dry_run_says_for_each_open_batch_why_it_cannot_move_to_its_own_version(
    web_app: Flask,
) -> None:
    designer = Designer(web_app)
    page = designer.client.get("/designer/reserve_selection/migrate").get_data(as_text=True)
    cases = [part.split('"', 1)[0] for part in page.split('name="case" value="')[1:]]
    assert len(cases) >= 3
    target = page.split('<option value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": designer.csrf, "action": "dry_run", "target": target, "case": cases}
    answer = designer.client.post("/designer/reserve_selection/migrate", data=form).get_data(as_text=True)
    assert answer.count('data-can-move="no"') == len(cases)
    assert "already on version 1" in answer and 'id="migrate"' not in answer


def test_importing_a_drawing_opens_it_and_a_refused_file_names_the_element(web_app: Flask) -> None:
    designer = Designer(web_app)

    def upload(data: bytes, name: str) -> Any:
        form = {"csrf_token": designer.csrf, "file": (io.BytesIO(data), name)}
        return designer.client.post("/designer/import", data=form, content_type="multipart/form-data")

    drawn = upload(DRAWING, "Sketch Order.bpmn")
    assert drawn.status_code == 302 and drawn.headers["Location"].endswith("/designer/sketch_order/edit")
    page = designer.client.get("/designer/sketch_order/edit").get_data(as_text=True)
    assert "opens for drawing only" in page
    assert "processes/sketch_order/sketch_order.bpmn" in designer.files("sketch_order")

    refused = upload(SERVICE, "erp.bpmn")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'data-status="refused"' in text and "call_erp" in text and "serviceTask" in text


def test_the_designer_pages_in_chinese(web_app: Flask) -> None:
    client = sign_in(web_app, "gao_design")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    assert "保存草稿" in client.get("/designer/reserve_selection/edit").get_data(as_text=True)
    assert "迁移案件" in client.get("/designer/reserve_selection/migrate").get_data(as_text=True)
