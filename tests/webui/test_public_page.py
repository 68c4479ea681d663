"""The public mass-supervision pages: the form and the numbers, a submission, its status — nothing more.

The app runs over a copy of the demo database (``make_web_app`` in conftest). The organization
department and discipline inspection act on the submitted case through the engine's services.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from engine import cases
from engine.errors import NotFound
from engine.store.models import RoleGrant, User
from tests.webui.conftest import csrf_from, sign_in

ZH_PO = Path(__file__).resolve().parents[2] / "webui" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
OPINION = "He has missed the village duty days for two months and nobody can find him."
REPORT = "CONFIDENTIAL-REPORT: the duty roster shows seven missed days; the cadre was talked to."
NOTE = "INTERNAL-NOTE: verify with the township duty roster"


def form_page(client: FlaskClient, headers: dict[str, str] | None = None) -> str:
    response = client.get("/supervision", headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def submit(client: FlaskClient, **fields: str) -> tuple[int, str]:
    token = csrf_from(form_page(client))
    data = {"cadre": "Zhang Wei, Dongcheng", "content": OPINION, "name": "Bai Yun", "contact": "13800000000"}
    data.update(fields)
    response = client.post("/supervision", data={**data, "csrf_token": token})
    return response.status_code, response.get_data(as_text=True)


def reference_in(html: str) -> str:
    match = re.search(r'id="reference">(c-[0-9a-f]{12})<', html)
    assert match, html
    return match.group(1)


def status_of(client: FlaskClient, reference: str) -> tuple[str, str | None, str]:
    response = client.get(f"/supervision/{reference}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    state = re.search(r'data-status="(\w+)"', html)
    outcome = re.search(r'data-outcome="(\w+)"', html)
    assert state
    return state.group(1), outcome.group(1) if outcome else None, html


def task_of(app: Flask, user_id: str, case_id: str) -> cases.TaskView:
    db = app.extensions["cadreflow"].db
    found = [t for t in cases.inbox(db, user_id) if t.case_id == case_id]
    assert len(found) == 1, found
    return found[0]


def complete(app: Flask, user_id: str, task: cases.TaskView, data: dict[str, str]) -> None:
    context = app.extensions["cadreflow"]
    cases.complete_task(context.db, context.clock, user_id, task.id, data)


# ---------------------------------------------------------------------------------------------------


def test_the_form_shows_the_fields_and_the_supervision_numbers_without_sign_in(web_app: Flask) -> None:
    html = form_page(web_app.test_client())
    assert "0471-1234567" in html
    for name in ("cadre", "content", "name", "contact", "csrf_token"):
        assert f'name="{name}"' in html
    assert "Your opinion" in html and "Contact (optional)" in html
    # nothing of the pool or the inbox
    for private in ("Zhang Wei", "d01", "li_org", "Inbox"):
        assert private not in html


def test_the_numbers_come_from_the_configuration(make_web_app: Callable[..., Flask]) -> None:
    app = make_web_app(SUPERVISION_PHONES=["0471-7654321", "12380"])
    html = form_page(app.test_client())
    assert "0471-7654321" in html and "12380" in html and "0471-1234567" not in html


def test_a_submission_without_the_csrf_token_is_refused(web_app: Flask) -> None:
    client = web_app.test_client()
    form_page(client)
    response = client.post("/supervision", data={"cadre": "d01", "content": OPINION})
    assert response.status_code == 400
    response = client.post("/supervision", data={"cadre": "d01", "content": OPINION, "csrf_token": "forged"})
    assert response.status_code == 400


def test_a_submission_is_verified_and_its_status_follows(web_app: Flask) -> None:
    client = web_app.test_client()
    code, html = submit(client)
    assert code == 200
    reference = reference_in(html)
    assert f'href="/supervision/{reference}"' in html

    db = web_app.extensions["cadreflow"].db
    case = cases.get_case(db, reference)
    assert case.process_id == "mass_supervision"
    assert case.data["status"] == "submitted"
    assert case.data["submitter_name"] == "Bai Yun" and case.data["opinion"] == OPINION
    assert case.data["reference"].startswith("MS-")
    assert [t.element_id for t in case.ready] == ["triage"]
    assert status_of(client, reference)[:2] == ("submitted", None)

    # the organization department finds it in its inbox (the page and the service) and triages it
    officer = sign_in(web_app, "li_org")
    inbox_html = officer.get("/").get_data(as_text=True)
    assert "Triage the opinion" in inbox_html
    complete(
        web_app,
        "li_org",
        task_of(web_app, "li_org", reference),
        {
            "decision": "verify",
            "cadre_id": "d03",  # in the demo pool
            "note": NOTE,
        },
    )
    assert status_of(client, reference)[:2] == ("under_review", None)

    complete(
        web_app,
        "li_org",
        task_of(web_app, "li_org", reference),
        {
            "finding": "substantiated",
            "report": REPORT,
        },
    )
    state, outcome, html = status_of(client, reference)
    assert (state, outcome) == ("closed", "substantiated")
    assert cases.get_case(db, reference).status == "finished"
    # the status page shows the standing only: no report, note, names, contact or the cadre's id
    for private in (
        "CONFIDENTIAL-REPORT",
        "INTERNAL-NOTE",
        "Bai Yun",
        "13800000000",
        "d01",
        "Zhang Wei",
        "MS-",
    ):
        assert private not in html


def test_a_referred_opinion_and_one_closed_as_not_relevant(web_app: Flask) -> None:
    client = web_app.test_client()
    referred = reference_in(submit(client, name="", contact="")[1])
    closed = reference_in(
        submit(client, cadre="the road contractor", content="The road is cracking already.")[1]
    )
    assert cases.get_case(web_app.extensions["cadreflow"].db, referred).data["anonymous"] is True

    complete(
        web_app, "li_org", task_of(web_app, "li_org", closed), {"decision": "not_relevant", "note": NOTE}
    )
    assert status_of(client, closed)[:2] == ("closed", "not_relevant")

    complete(
        web_app,
        "li_org",
        task_of(web_app, "li_org", referred),
        {
            "decision": "refer",
            "cadre_id": "b01",  # in the demo pool
            "note": NOTE,
        },
    )
    assert status_of(client, referred)[:2] == ("under_review", None)
    complete(
        web_app,
        "sun_jw",
        task_of(web_app, "sun_jw", referred),
        {"finding": "unsubstantiated", "report": REPORT},
    )
    state, outcome, html = status_of(client, referred)
    assert (state, outcome) == ("closed", "unsubstantiated")
    assert "CONFIDENTIAL-REPORT" not in html and "d02" not in html


def test_invalid_content_is_refused_with_the_message_and_starts_nothing(web_app: Flask) -> None:
    client = web_app.test_client()
    before = len(cases.inbox(web_app.extensions["cadreflow"].db, "li_org"))
    code, html = submit(client, content="   too short   ")
    assert code == 422
    assert "Describe the matter in at least 10 characters" in html
    assert 'aria-invalid="true"' in html and "Bai Yun" in html  # the values are kept
    code, html = submit(client, cadre="", content="short")
    assert code == 422
    assert "Name the reserve cadre the opinion is about" in html
    code, html = submit(client, name="x" * 101)
    assert code == 422 and "at most 100 characters" in html
    assert len(cases.inbox(web_app.extensions["cadreflow"].db, "li_org")) == before


def test_the_sixth_submission_in_ten_minutes_from_one_address_is_refused(web_app: Flask) -> None:
    client = web_app.test_client()
    for _ in range(5):
        assert submit(client)[0] == 200
    code, html = submit(client)
    assert code == 429
    assert "Too many submissions" in html and "At most 5 opinions" in html
    # another address is not affected
    other = web_app.test_client()
    token = csrf_from(form_page(other))
    response = other.post(
        "/supervision",
        data={"cadre": "d01", "content": OPINION, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 200


def test_unknown_references_and_other_cases_are_not_found(web_app: Flask) -> None:
    client = web_app.test_client()
    other_case = cases.inbox(web_app.extensions["cadreflow"].db, "uc_dongcheng")[
        0
    ].case_id  # a selection batch
    for reference in ("c-000000000000", "nonsense", other_case, "C-" + other_case[2:].upper()):
        response = client.get(f"/supervision/{reference}")
        assert response.status_code == 404, reference
        html = response.get_data(as_text=True)
        assert "Unknown reference number" in html
        assert other_case not in html or reference == other_case
    assert client.get("/supervision/..%2f..%2fetc").status_code == 404
    with pytest.raises(NotFound):
        cases.get_case(web_app.extensions["cadreflow"].db, "c-000000000000")


def test_the_public_system_user_cannot_sign_in(web_app: Flask) -> None:
    client = web_app.test_client()
    submit(client)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for password in ("", "public", "cadreflow-demo"):
        response = client.post(
            "/login", data={"user_id": "public", "password": password, "csrf_token": token}
        )
        assert response.status_code != 302
    assert client.get("/").status_code == 302  # still not signed in


def test_the_public_user_is_created_when_missing(make_web_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = make_web_app()
    db = app.extensions["cadreflow"].db
    with db.write() as session:
        session.query(RoleGrant).filter(RoleGrant.user_id == "public").delete()
        session.query(User).filter(User.id == "public").delete()
    code, html = submit(app.test_client())
    assert code == 200 and reference_in(html)


def test_the_pages_in_chinese(make_web_app: Callable[..., Flask], tmp_path: Path) -> None:
    target = tmp_path / "translations" / "zh" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copyfile(ZH_PO, target / "messages.po")
    with ZH_PO.open("rb") as source, (target / "messages.mo").open("wb") as file:
        write_mo(file, read_po(source))
    app = make_web_app(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    client = app.test_client()
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    html = form_page(client, zh)
    assert "后备干部群众监督" in html and "监督电话" in html and "反映内容" in html
    assert "Your opinion" not in html
    token = csrf_from(html)
    response = client.post(
        "/supervision", data={"cadre": "d01", "content": "短", "csrf_token": token}, headers=zh
    )
    assert response.status_code == 422
    assert "反映内容不少于10个字符" in response.get_data(as_text=True)
