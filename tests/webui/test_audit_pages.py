"""The auditor's pages on the demo: search, the record with explanations, the as-of view rebuilt from
the log, diffs, verification, exports and the access log that records all of it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from openpyxl import load_workbook
from sqlalchemy import select

from engine.store.models import Case, Event
from tests.webui.conftest import csrf_from, sign_in
from tests.webui.conftest import select as css


def db_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["cadreflow"].db


def finished_batch(app: Flask) -> str:
    with db_of(app).read() as session:
        return str(
            session.scalar(
                select(Case.id).where(Case.process_id == "reserve_selection", Case.status == "finished")
            )
        )


def exam_completion(app: Flask, case_id: str) -> int:
    """The sequence number of the event that recorded the exam scores."""
    with db_of(app).read() as session:
        query = select(Event).where(Event.case_id == case_id, Event.type == "task.completed")
        for event in session.scalars(query):
            if json.loads(event.payload_json).get("element_id") == "record_exam_scores":
                return event.seq
    raise AssertionError("no exam in the finished batch")


def page(client: FlaskClient, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return lxml_html.fromstring(response.get_data(as_text=True))


def test_search_finds_the_batch_by_name_candidate_and_unit(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    everything = page(client, "/audit")
    assert len(css(everything, "#audit-results tbody tr")) >= 8
    assert css(everything, "#nav-audit")
    found = page(client, "/audit?batch=first+batch")
    assert [row.get("data-case") for row in css(found, "#audit-results tbody tr")] == [case_id]
    by_candidate = page(client, "/audit?candidate=x07&process=reserve_selection")
    assert case_id in [row.get("data-case") for row in css(by_candidate, "#audit-results tbody tr")]
    none = page(client, "/audit?candidate=no-such-person")
    assert css(none, "#no-results") and not css(none, "#audit-results")
    assert client.get("/audit?from=2027-02-01&to=2027-01-01").status_code == 422
    assert client.get("/audit?from=yesterday").status_code == 422


def test_case_page_explains_every_nominee(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    doc = page(client, f"/audit/cases/{case_id}")
    rows = {row.get("data-candidate"): row for row in css(doc, "#explanations tbody tr")}
    assert len(rows) == 20
    assert rows["d06"].get("data-rule") == "recommendation"
    figures = {dd.get("data-figure"): dd.text_content() for dd in css(rows["d06"], "dd")}
    assert (figures["votes"], figures["participants"]) == ("12", "30")
    assert figures["threshold"] == "0.5 (50%)"
    assert "sun_jw" in rows["d01"].text_content() and rows["d01"].get("data-stage") == "objection"
    d01 = {dd.get("data-figure"): dd.text_content() for dd in css(rows["d01"], "dd")}
    assert d01["body"] == "Discipline inspection"
    assert "SC-2027-03" in rows["x01"].text_content() and rows["x01"].get("data-outcome") == "admitted"
    assert css(doc, "#waiting-finished")
    timeline = css(doc, "#timeline tbody tr")
    assert len(timeline) == int(timeline[-1].get("data-seq"))
    assert css(timeline[0], "a.as-of-link")[0].get("href") == f"/audit/cases/{case_id}/at/1"


def test_a_waiting_batch_says_what_it_waits_for(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    with db_of(web_app).read() as session:
        case_id = session.scalar(select(Case.id).where(Case.title.contains("third batch")))
    doc = page(client, f"/audit/cases/{case_id}")
    rows = css(doc, "#waiting-tasks tbody tr")
    assert [r.get("data-element") for r in rows] == ["record_exam_scores"]
    assert "Exam office" in rows[0].text_content()


def test_as_of_the_event_before_the_exam_shows_the_batch_as_it_stood(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    exam = exam_completion(web_app, case_id)
    doc = page(client, f"/audit/cases/{case_id}/at/{exam - 1}")
    path = json.loads(css(doc, "#case-path")[0].text)
    assert path["active"] == ["record_exam_scores"]
    assert "democratic_recommendation" in path["completed"] and "record_exam_scores" not in path["completed"]
    assert [r.get("data-element") for r in css(doc, "#waiting-tasks tbody tr")] == ["record_exam_scores"]
    keys = {r.get("data-key") for r in css(doc, "#as-of-data tbody tr")}
    assert "remaining" in keys and "exam_scores" not in keys and "admitted" not in keys
    assert css(doc, "#step-prev")[0].get("href") == f"/audit/cases/{case_id}/at/{exam - 2}"
    assert css(doc, "#step-next")[0].get("href") == f"/audit/cases/{case_id}/at/{exam}"
    assert css(doc, "#event-list tr.current")[0].get("data-seq") == str(exam - 1)

    after = page(client, f"/audit/cases/{case_id}/at/{exam}")
    changed = {r.get("data-path"): r.get("data-kind") for r in css(after, "#event-changes tbody tr")}
    assert changed.get("scores") == "added"
    first = page(client, f"/audit/cases/{case_id}/at/1")
    assert not css(first, "#step-prev") and css(first, "#step-next")
    assert client.get(f"/audit/cases/{case_id}/at/0").status_code == 404
    assert client.get(f"/audit/cases/{case_id}/at/99999").status_code == 404


def test_diff_between_two_events(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    exam = exam_completion(web_app, case_id)
    doc = page(client, f"/audit/cases/{case_id}/diff?from={exam - 1}&to={exam + 3}")
    changes = {r.get("data-path"): r.get("data-kind") for r in css(doc, "#diff-changes tbody tr")}
    assert changes["exam_scores"] == "added" and changes["scores"] == "added"
    assert any(p.startswith("dropped[") and k == "added" for p, k in changes.items())
    same = page(client, f"/audit/cases/{case_id}/diff?from=3&to=3")
    assert css(same, "#diff-none")
    assert client.get(f"/audit/cases/{case_id}/diff?from=a&to=2").status_code == 422


def test_verify_needs_the_csrf_token_and_reports_ok(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    token = csrf_from(client.get(f"/audit/cases/{case_id}").get_data(as_text=True))
    assert client.post(f"/audit/cases/{case_id}/verify").status_code == 400
    response = client.post(f"/audit/cases/{case_id}/verify", data={"csrf_token": token})
    assert response.status_code == 200
    result = css(lxml_html.fromstring(response.get_data(as_text=True)), "#verify-result")[0]
    assert result.get("data-ok") == "true"


def test_verify_shows_the_first_divergent_event_of_a_tampered_case(web_app: Flask, tmp_path: Path) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    exam = exam_completion(web_app, case_id)
    db_of(web_app).dispose()
    with sqlite3.connect(tmp_path / "cadreflow.db") as raw:  # someone edits a score in the database
        (payload,) = raw.execute(
            "select payload_json from events where case_id = ? and seq = ?", (case_id, exam)
        ).fetchone()
        raw.execute(
            "update events set payload_json = ? where case_id = ? and seq = ?",
            (payload.replace('"score":55.0', '"score":65.0'), case_id, exam),
        )
    token = csrf_from(client.get(f"/audit/cases/{case_id}").get_data(as_text=True))
    response = client.post(f"/audit/cases/{case_id}/verify", data={"csrf_token": token})
    result = css(lxml_html.fromstring(response.get_data(as_text=True)), "#verify-result")[0]
    assert result.get("data-ok") == "false"
    assert f"event {exam}" in result.text_content()


def test_exports(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    response = client.get(f"/audit/cases/{case_id}/candidates.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:2] == ["ID / 编号", "Name / 姓名"] and len(rows) == 21
    xlsx = client.get(f"/audit/cases/{case_id}/candidates.xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.get_data())).active.max_row == 21
    assert client.get(f"/audit/cases/{case_id}/candidates.pdf").status_code == 422
    bundle = client.get(f"/audit/cases/{case_id}/bundle.zip")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.get_data())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["case_id"] == case_id and manifest["exported_by"] == "ma_audit"


def test_every_look_is_logged_and_shown(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    client.get(f"/audit/cases/{case_id}")
    client.get(f"/audit/cases/{case_id}/at/5")
    client.get(f"/audit/cases/{case_id}/diff?from=4&to=5")
    token = csrf_from(client.get("/audit").get_data(as_text=True))
    client.post(f"/audit/cases/{case_id}/verify", data={"csrf_token": token})
    client.get(f"/audit/cases/{case_id}/bundle.zip")
    client.get(f"/audit/cases/{case_id}/candidates.csv")
    doc = page(client, f"/audit/log?case={case_id}")
    rows = css(doc, "#access-log tbody tr")
    actions = {r.get("data-action") for r in rows}
    assert actions == {"view", "as_of", "diff", "verify", "export", "export_batch"}
    assert {r.get("data-actor") for r in rows} == {"ma_audit"}
    only = page(client, "/audit/log?action=verify")
    assert {r.get("data-action") for r in css(only, "#access-log tbody tr")} == {"verify"}


def test_the_audit_pages_in_chinese(web_app: Flask) -> None:
    client = sign_in(web_app, "ma_audit")
    case_id = finished_batch(web_app)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    text = client.get(f"/audit/cases/{case_id}", headers=zh).get_data(as_text=True)
    assert "每位被推荐人入选或淘汰的依据" in text and "核验" in text
    text = client.get(f"/audit/cases/{case_id}/at/3", headers=zh).get_data(as_text=True)
    assert "当时的案件数据" in text


def test_a_case_about_the_auditor_is_not_found(web_app: Flask) -> None:
    case_id = finished_batch(web_app)
    with db_of(web_app).write() as session:
        from engine.store.models import CaseSubject

        session.add(CaseSubject(case_id=case_id, subject_id="ma_audit"))
    client = sign_in(web_app, "ma_audit")
    for path in ("", "/at/2", "/diff?from=1&to=2", "/bundle.zip", "/candidates.csv"):
        assert client.get(f"/audit/cases/{case_id}{path}").status_code == 404, path
