"""The demo's story: a cadre followed from admission through a year's assessments to appointment,
visible in the pool, in their file and on their case page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from flask import Flask

from engine.demo import FOLLOWED, run_demo
from engine.pool import pool
from engine.store.db import Database
from tests.webui.conftest import sign_in
from webui.app import create_app


@pytest.fixture(scope="module")
def story_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("story")
    url = f"sqlite:///{folder / 'story.db'}"
    run_demo(Database(url), lambda _line: None, story=True)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "story", "VAR_DIR": str(folder), "TESTING": True})
    yield app
    app.extensions["cadreflow"].db.dispose()


def test_the_followed_cadre_was_assessed_and_appointed(story_app: Flask) -> None:
    db = story_app.extensions["cadreflow"].db
    members = {m.candidate: m for m in pool(db)}
    followed = members[FOLLOWED]
    assert followed.status == "used"
    assert (followed.last_rating, followed.last_potential, followed.talks_total) == ("excellent", "high", 4)
    assert all(m.status == "active" and m.mentor for c, m in members.items() if c != FOLLOWED)


def test_the_story_can_be_followed_in_the_pages(story_app: Flask) -> None:
    client = sign_in(story_app, "li_org")
    pool_page = client.get("/pool").get_data(as_text=True)
    assert f"/pool/{FOLLOWED}" in pool_page
    file_page = lxml.html.fromstring(client.get(f"/pool/{FOLLOWED}").get_data(as_text=True))
    assert file_page.xpath("//*[@id='cadre-status']")[0].get("data-status") == "used"
    case_href = file_page.xpath("//*[@id='case-link']")[0].get("href")
    case_page = client.get(case_href)
    assert case_page.status_code == 200
    case_doc = lxml.html.fromstring(case_page.get_data(as_text=True))
    assert case_doc.xpath("//*[@id='case-status']")[0].get("data-status") == "finished"
    timeline = [tr.get("data-type") for tr in case_doc.xpath("//tr[@data-type]")]
    # admitted by message, a second year started, appointed by the message from the vacancy's case
    assert timeline[0] == "case.started" and "cycle.started" in timeline
    assert (
        timeline.index("message.received") > timeline.index("cycle.started")
        and timeline[-1] == "case.finished"
    )


def test_the_file_keeps_every_year_not_only_the_current_one(story_app: Flask) -> None:
    """Year 1 closed when year 2 began: its talks and assessment left the case data but not the file."""
    client = sign_in(story_app, "li_org")
    doc = lxml.html.fromstring(client.get(f"/pool/{FOLLOWED}").get_data(as_text=True))
    assert [tr.get("data-year") for tr in doc.xpath("//table[@id='years']/tbody/tr")] == ["2", "1"]
    assert len(doc.xpath("//table[@id='talks-1']/tbody/tr")) == 4
    assert doc.xpath("//table[@id='assessments-1']//tr[@data-rating]")[0].get("data-rating") == "excellent"
    assert not doc.xpath("//table[@id='talks-2']")  # nothing recorded in year 2 before the appointment
