"""The case page (``/cases/<id>``) and its diagram (``/cases/<id>/diagram.bpmn``) on the demo data.

What a viewer sees is the engine's ``case_detail``; these tests check the page shows exactly that:
the admitted candidates of the finished batch, the diagram URL and the path as JSON, only their own
units' candidates for a unit committee, and 404 for someone who may not see the case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.batches import batch_overview
from engine.case_views import case_detail
from engine.store.db import Database
from tests.webui.conftest import select, sign_in

STATIC = Path(__file__).resolve().parents[2] / "webui" / "static"


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["cadreflow"].db
    return database


def batch_ids(app: Flask) -> dict[str, str]:
    """The demo batches' case ids by their English title's ordinal ("first", ..., "fourth")."""
    return {b.title.split(",")[1].split()[0]: b.case_id for b in batch_overview(db_of(app), "li_org")}


def page(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return lxml.html.fromstring(response.get_data(as_text=True))


def one(element: Any, css: str) -> Any:
    found = select(element, css)
    assert len(found) == 1, f"{css}: {len(found)} elements"
    return found[0]


def candidate_rows(doc: Any) -> dict[str, dict[str, str]]:
    rows = {}
    for tr in select(doc, "#candidates tbody tr"):
        cells = [td.text_content().strip() for td in tr.xpath("./td")]
        rows[tr.get("data-candidate")] = {
            "outcome": tr.get("data-outcome"), "name": cells[1], "unit": cells[2], "status": cells[3]
        }
    return rows


def test_org_department_sees_the_finished_batch(web_app: Flask) -> None:
    case_id = batch_ids(web_app)["first"]
    detail = case_detail(db_of(web_app), "li_org", case_id)
    doc = page(sign_in(web_app, "li_org"), f"/cases/{case_id}")

    assert one(doc, "#case-title").text_content().strip() == "2027 reserve cadres, first batch"
    assert one(doc, "#case-status").get("data-status") == "finished"
    rows = candidate_rows(doc)
    assert list(rows) == [c.id for c in detail.candidates]
    admitted = {cid for cid, row in rows.items() if row["outcome"] == "admitted"}
    assert admitted == set(detail.case.data["admitted"])
    assert len(admitted) == detail.case.data["quota"] == 4
    for cid in admitted:
        assert "Admitted" in rows[cid]["status"]
    dropped = next(c for c in detail.candidates if c.outcome == "dropped")
    assert dropped.reason in rows[dropped.id]["status"]  # a dropped candidate shows why
    assert select(doc, "#scope-note") == []  # the whole case, not a unit's part

    # The diagram: its URL, the viewer's script, and the path as JSON for the markers.
    diagram = one(doc, "#diagram")
    assert diagram.get("data-src") == f"/cases/{case_id}/diagram.bpmn"
    scripts = [s.get("src") for s in select(doc, "script[src]")]
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in scripts
    assert "/static/case.js" in scripts
    path = json.loads(one(doc, "script#case-path").text)
    assert path == {"completed": detail.completed, "active": detail.active}
    assert "end_admitted" in path["completed"] and path["active"] == []
    assert len(select(doc, "#diagram-legend li")) == 3

    # The timeline: one row per entry the engine gives.
    assert len(select(doc, "#timeline tbody tr")) == len(detail.timeline)
    assert select(doc, "#ready-none")  # nothing waits in a finished case


def test_ready_tasks_link_to_their_task_pages(web_app: Flask) -> None:
    case_id = batch_ids(web_app)["second"]
    detail = case_detail(db_of(web_app), "li_org", case_id)
    assert detail.case.ready, "the demo's second batch waits at the opinions"
    doc = page(sign_in(web_app, "li_org"), f"/cases/{case_id}")
    links = [a.get("href") for a in select(doc, "#ready-tasks tbody a")]
    assert links == [f"/tasks/{task.id}" for task in detail.case.ready]
    assert json.loads(one(doc, "script#case-path").text)["active"] == detail.active
    statuses = {row["outcome"] for row in candidate_rows(doc).values()}
    assert statuses == {"in_progress", "dropped"}


def test_diagram_is_the_pinned_bpmn_with_the_completed_elements(web_app: Flask) -> None:
    case_id = batch_ids(web_app)["first"]
    detail = case_detail(db_of(web_app), "li_org", case_id)
    response = sign_in(web_app, "li_org").get(f"/cases/{case_id}/diagram.bpmn")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
    root = lxml.etree.fromstring(response.data, parser)
    assert lxml.etree.QName(root).localname == "definitions"
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    assert detail.completed and set(detail.completed) <= ids
    assert response.get_data(as_text=True) == detail.bpmn_xml


def test_unit_committee_sees_only_its_units_candidates(web_app: Flask) -> None:
    case_id = batch_ids(web_app)["first"]
    detail = case_detail(db_of(web_app), "uc_xihe", case_id)
    browser = sign_in(web_app, "uc_xihe")
    response = browser.get(f"/cases/{case_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    rows = candidate_rows(doc)
    assert rows and set(rows) == {c.id for c in detail.candidates}
    assert {row["unit"] for row in rows.values()} == {"xihe"}
    assert all(cid.startswith("x") for cid in rows)
    everyone = case_detail(db_of(web_app), "li_org", case_id).candidates
    for other in (c for c in everyone if c.unit != "xihe"):
        assert other.name not in html, f"{other.id} of {other.unit} is shown to uc_xihe"
    assert "xihe" in one(doc, "#scope-note").text_content()
    assert len(select(doc, "#timeline tbody tr")) == len(detail.timeline)
    assert browser.get(f"/cases/{case_id}/diagram.bpmn").status_code == 200


@pytest.mark.parametrize("suffix", ["", "/diagram.bpmn"])
def test_a_role_without_access_gets_404(web_app: Flask, suffix: str) -> None:
    response = sign_in(web_app, "chen_dangxiao").get(f"/cases/{batch_ids(web_app)['first']}{suffix}")
    assert response.status_code == 404
    assert b"2027 reserve cadres" not in response.data


@pytest.mark.parametrize("suffix", ["", "/diagram.bpmn"])
def test_unknown_case_is_404(web_app: Flask, suffix: str) -> None:
    response = sign_in(web_app, "li_org").get(f"/cases/c-doesnotexist{suffix}")
    assert response.status_code == 404
    assert b"Not found" in response.data


@pytest.mark.parametrize("suffix", ["", "/diagram.bpmn"])
def test_not_signed_in_goes_to_the_login(web_app: Flask, suffix: str) -> None:
    response = web_app.test_client().get(f"/cases/{batch_ids(web_app)['first']}{suffix}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_bpmn_io_watermark_is_not_styled_away() -> None:
    """bpmn-js's licence: the watermark stays visible; no stylesheet or script of ours touches it."""
    for name in ("case.css", "case.js"):
        text = re.sub(r"/\*.*?\*/", "", (STATIC / name).read_text(encoding="utf-8"), flags=re.S)
        code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("*"))
        assert "powered-by" not in code, name
