"""The batch overview (``/batches``) on the demo data: for the organization department and auditors,
every batch with its stage and the funnel numbers the engine computes, as a chart and as a table."""

from __future__ import annotations

import json
from typing import Any

import lxml.html
import pytest
from flask import Flask

from engine.batches import FUNNEL_STEPS, batch_overview
from engine.store.db import Database
from tests.webui.conftest import select, sign_in


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["cadreflow"].db
    return database


def html(response: Any) -> Any:
    assert response.status_code == 200, response.status_code
    return lxml.html.fromstring(response.get_data(as_text=True))


@pytest.mark.parametrize("user", ["li_org", "ma_audit"])
def test_overseers_see_every_batch_with_its_funnel(web_app: Flask, user: str) -> None:
    expected = batch_overview(db_of(web_app), user)
    assert len(expected) == 4
    doc = html(sign_in(web_app, user).get("/batches"))

    articles = select(doc, "article.batch")
    assert [a.get("data-case") for a in articles] == [b.case_id for b in expected]
    for article, batch in zip(articles, expected, strict=True):
        link = select(article, "h2 a")[0]
        assert link.get("href") == f"/cases/{batch.case_id}"
        assert link.text_content().strip() == batch.title.split(" / ")[0]
        assert select(article, f"canvas#funnel-{batch.case_id}")
        assert select(article, "[data-status]")[0].get("data-status") == batch.status
        assert batch.started_at.strftime("%Y-%m-%d") in article.text_content()

    # The finished batch: its numbers in the table and in the chart data are the engine's.
    finished = next(b for b in expected if b.status == "finished")
    table = select(doc, f"#funnel-table-{finished.case_id} tbody tr")
    shown = [(tr.get("data-step"), int(tr.xpath("./td")[0].text_content())) for tr in table]
    assert shown == list(finished.funnel)
    assert [step for step, _count in shown] == list(FUNNEL_STEPS)
    assert dict(shown)["admitted"] == 4
    charts = json.loads(select(doc, "script#batch-funnels")[0].text)
    chart = next(c for c in charts["batches"] if c["caseId"] == finished.case_id)
    assert chart["counts"] == [count for _step, count in finished.funnel]
    assert chart["steps"] == list(FUNNEL_STEPS)
    assert chart["labels"][0] == "Nominated" and chart["labels"][-1] == "Admitted"
    scripts = [s.get("src") for s in select(doc, "script[src]")]
    assert "/static/vendor/chart.js/chart.umd.min.js" in scripts and "/static/batches.js" in scripts


def test_stages_are_shown_readably(web_app: Flask) -> None:
    doc = html(sign_in(web_app, "li_org").get("/batches"))
    shown = {a.get("data-case"): select(a, "dd.stage")[0].text_content().strip()
             for a in select(doc, "article.batch")}
    stages = {b.case_id: b.stage for b in batch_overview(db_of(web_app), "li_org")}
    assert sorted(sorted(stage) for stage in stages.values()) == [
        ["discipline_opinion", "family_planning_opinion"], ["finished"], ["nominate"], ["record_exam_scores"]
    ]
    for case_id, stage in stages.items():
        expected = "Finished" if stage == ["finished"] else ", ".join(s.replace("_", " ") for s in stage)
        assert shown[case_id] == expected
    assert "record exam scores" in shown.values()


def test_a_unit_committee_may_not_see_the_overview(web_app: Flask) -> None:
    response = sign_in(web_app, "uc_dongcheng").get("/batches")
    assert response.status_code == 403
    assert b"2027 reserve cadres" not in response.data


def test_not_signed_in_goes_to_the_login(web_app: Flask) -> None:
    response = web_app.test_client().get("/batches")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
