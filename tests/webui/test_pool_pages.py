"""The reserve-cadre pool (``/pool``) and a cadre's file (``/pool/<candidate>``) on the demo data.

The demo admits four cadres (x01, b03, d03, b01) whose reserve_cadre files are open; the pages show
what :func:`engine.pool.pool` and the file's case (``case_detail``) hand over, to the organization
department, the party committee and auditors only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from engine.pool import pool
from engine.store.db import Database
from tests.webui.conftest import csrf_from, select, sign_in

DEMO_CADRES = {"x01", "b03", "d03", "b01"}
ZH_PO = Path(__file__).resolve().parents[2] / "webui" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def db_of(app: Flask) -> Database:
    database: Database = app.extensions["cadreflow"].db
    return database


def page(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Any:
    response = client.get(path, headers=headers or {})
    assert response.status_code == 200, (path, response.status_code)
    return lxml.html.fromstring(response.get_data(as_text=True))


def pool_rows(doc: Any) -> dict[str, dict[str, str]]:
    rows = {}
    for tr in select(doc, "#pool tbody tr"):
        cells = [td.text_content().strip() for td in tr.xpath("./td")]
        rows[tr.get("data-candidate")] = {"name": cells[0], "unit": cells[1], "status": tr.get("data-status")}
    return rows


def test_org_department_sees_the_demo_cadres(web_app: Flask) -> None:
    doc = page(sign_in(web_app, "li_org"), "/pool")
    rows = pool_rows(doc)
    assert set(rows) == DEMO_CADRES
    for cadre in pool(db_of(web_app)):
        assert cadre.name in rows[cadre.candidate]["name"]
        assert rows[cadre.candidate]["unit"] == cadre.unit
        assert rows[cadre.candidate]["status"] == "active"
    links = {a.get("href") for a in select(doc, "#pool tbody a")}
    assert links == {f"/pool/{c}" for c in DEMO_CADRES}
    assert select(doc, "#pool-empty") == []
    assert "/pool" in {a.get("href") for a in select(doc, "nav a")}  # the nav link


@pytest.mark.parametrize("user", ["wu_changwei", "ma_audit"])
def test_party_committee_and_auditors_see_the_pool(web_app: Flask, user: str) -> None:
    assert set(pool_rows(page(sign_in(web_app, user), "/pool"))) == DEMO_CADRES


def test_filter_by_unit_status_and_rating(web_app: Flask) -> None:
    client = sign_in(web_app, "li_org")
    expected = {c.candidate for c in pool(db_of(web_app)) if c.unit == "bayin"}
    assert expected == {"b01", "b03"}
    doc = page(client, "/pool?unit=bayin")
    assert set(pool_rows(doc)) == expected
    option = select(doc, "#filter-unit option[selected]")
    assert [o.get("value") for o in option] == ["bayin"]
    assert "(2)" in option[0].text_content()

    assert set(pool_rows(page(client, "/pool?status=active"))) == DEMO_CADRES
    assert set(pool_rows(page(client, "/pool?rating=none"))) == DEMO_CADRES  # nobody assessed yet

    empty = page(client, "/pool?status=used")
    assert pool_rows(empty) == {}
    assert len(select(empty, "#pool-empty")) == 1


def test_a_cadre_file_shows_the_name_and_links_to_the_case(web_app: Flask) -> None:
    cadre = next(c for c in pool(db_of(web_app)) if c.candidate == "x01")
    doc = page(sign_in(web_app, "li_org"), "/pool/x01")
    assert cadre.name in select(doc, "#cadre-name")[0].text_content()
    assert select(doc, "#cadre-unit")[0].text_content().strip() == cadre.unit
    assert select(doc, "#cadre-status")[0].get("data-status") == "active"
    assert select(doc, "#case-link")[0].get("href") == f"/cases/{cadre.case_id}"
    for section in ("talks", "course", "supervision", "internships", "findings", "assessment"):
        assert len(select(doc, f"#{section}-1-heading")) == 1, section
    assert [tr.get("data-year") for tr in select(doc, "#years tbody tr")] == ["1"]


def test_a_unit_committee_may_not_see_the_pool(web_app: Flask) -> None:
    client = sign_in(web_app, "uc_xihe")
    assert client.get("/pool").status_code == 403
    assert client.get("/pool/x01").status_code == 403


def test_an_unknown_candidate_is_not_found(web_app: Flask) -> None:
    assert sign_in(web_app, "li_org").get("/pool/nobody").status_code == 404


def test_signed_out_visitors_go_to_the_login(web_app: Flask) -> None:
    for path in ("/pool", "/pool/x01"):
        response = web_app.test_client().get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A translations directory holding the catalog compiled from messages.po."""
    root = tmp_path_factory.mktemp("translations")
    target = root / "zh" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copyfile(ZH_PO, target / "messages.po")
    with ZH_PO.open("rb") as source, (target / "messages.mo").open("wb") as file:
        write_mo(file, read_po(source))
    return root


def test_the_pages_in_chinese(make_web_app: Callable[..., Flask], compiled: Path) -> None:
    client = sign_in(make_web_app(BABEL_TRANSLATION_DIRECTORIES=str(compiled)), "li_org")
    doc = page(client, "/pool", ZH)
    assert select(doc, "#pool-title")[0].text_content().strip() == "后备干部库"
    assert "在库" in select(doc, "#pool tbody")[0].text_content()
    doc = page(client, "/pool/x01", ZH)
    headings = [h.text_content() for h in doc.xpath("//h2 | //h3")]
    assert any("第 1 年" in h for h in headings)
    assert any("谈心谈话" in h for h in headings)
    assert any("党校培训" in h for h in headings)
    assert any("多岗位锻炼" in h for h in headings)
    assert any("历年培养" in h for h in headings)


def test_the_department_opens_a_vacancy_and_an_adjustment_from_the_pool(web_app: Flask) -> None:
    client = sign_in(web_app, "li_org")
    doc = page(client, "/pool")
    token = select(doc, "#open-vacancy input")[0].get("value")
    response = client.post(
        "/pool/vacancy",
        data={"csrf_token": token, "unit": "xihe", "post": "Deputy head", "requirements": "rural work"},
    )
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    task = page(client, response.headers["Location"])
    assert "x01" in task.text_content()  # the shortlist offers the pool's cadre of that unit
    response = client.post("/pool/adjustment", data={"csrf_token": token, "target": "6"})
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    assert client.post("/pool/vacancy", data={"unit": "xihe", "post": "x"}).status_code == 400  # no CSRF


def test_only_the_department_opens_them(web_app: Flask) -> None:
    for user in ("wu_changwei", "ma_audit"):
        client = sign_in(web_app, user)
        assert not select(page(client, "/pool"), "#pool-actions")
        token = csrf_from(client.get("/pool").get_data(as_text=True))
        assert client.post("/pool/vacancy", data={"csrf_token": token, "post": "x"}).status_code == 403


def test_processes_started_by_messages_are_not_offered_in_the_inbox(web_app: Flask) -> None:
    html = sign_in(web_app, "li_org").get("/").get_data(as_text=True)
    assert "start-reserve_selection" in html and "start-timely_supplement" in html
    assert "start-preferred_use" not in html and "start-pool_adjustment" not in html
