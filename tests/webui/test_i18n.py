"""The Chinese UI: the catalog is complete and compiles, and the pages follow the chosen language.

The pages are served from a catalog compiled here from ``messages.po`` (into a temporary directory), so
the tests check the catalog in the repository, not a ``.mo`` file left over from an earlier build.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import csrf_from, sign_in

TRANSLATIONS = Path(__file__).resolve().parents[2] / "webui" / "translations"
ZH_PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
CJK = re.compile(r"[\u3400-\u9fff]")


def load_catalog() -> Catalog:
    with ZH_PO.open("rb") as file:
        return read_po(file)


def zh(msgid: str) -> str:
    """The catalog's Chinese for ``msgid``."""
    message = load_catalog().get(msgid)
    assert message is not None, f"{msgid!r} is not in the catalog"
    return str(message.string)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A translations directory holding the catalog compiled from messages.po."""
    root = tmp_path_factory.mktemp("translations")
    target = root / "zh" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copyfile(ZH_PO, target / "messages.po")
    with (target / "messages.mo").open("wb") as file:
        write_mo(file, load_catalog())
    return root


@pytest.fixture
def app(make_web_app: Callable[..., Flask], compiled: Path) -> Flask:
    return make_web_app(BABEL_TRANSLATION_DIRECTORIES=str(compiled))


def page(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> str:
    response = client.get(path, headers=headers or ZH)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>\s*(.*?)\s*</h1>", html, re.S)
    assert match, html
    return match.group(1)


# ---------------------------------------------------------------------------------------------------
# The catalog


def test_every_msgid_has_a_chinese_msgstr() -> None:
    catalog = load_catalog()
    assert catalog.locale is not None and catalog.locale.language == "zh"
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    for message in messages:
        assert not message.fuzzy, message.id
        strings = [str(s) for s in message.string or ()] if message.pluralizable else [str(message.string)]
        source = str(message.id[0] if message.pluralizable else message.id)
        assert len(strings) == 1, message.id  # one plural form in Chinese
        for string in strings:
            assert string and string.strip(), f"{message.id!r} has no translation"
            assert CJK.search(string), f"{message.id!r} is not translated into Chinese: {string!r}"
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(source)), message.id
    assert not catalog.obsolete
    assert [problem for problem in catalog.check()] == []


def test_every_string_of_the_ui_is_in_the_catalog_and_nothing_else() -> None:
    """Extract the strings the code and templates mark (as ``pybabel extract`` would, with babel.cfg)
    and compare: a string missing from the catalog would show in English on a Chinese page."""
    root = TRANSLATIONS.parents[1]
    with (root / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    used = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(root, method_map, options_map)
    }
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in load_catalog() if m.id}
    assert sorted(used - known) == [], "strings missing from messages.po"
    assert sorted(known - used) == [], "messages.po holds strings nothing uses any more"


def test_the_catalog_compiles(compiled: Path) -> None:
    with (compiled / "zh" / "LC_MESSAGES" / "messages.mo").open("rb") as file:
        translations = GNUTranslations(file)
    assert translations.gettext("Inbox") == zh("Inbox")
    assert translations.ngettext("%(num)d task", "%(num)d tasks", 3) % {"num": 3} == "共 3 项任务"


def test_the_app_reads_the_catalog_from_webui_translations(web_app: Flask) -> None:
    assert Path(web_app.config["BABEL_TRANSLATION_DIRECTORIES"]) == TRANSLATIONS


# ---------------------------------------------------------------------------------------------------
# The pages


def test_the_inbox_is_in_chinese_for_a_chinese_browser(app: Flask) -> None:
    client = sign_in(app, "uc_dongcheng")
    html = page(client, "/")
    assert '<html lang="zh-CN">' in html
    assert heading(html) == zh("Inbox") == "待办"
    for msgid in ("Done", "Sign out", "Search", "Claimed by", "Claim"):
        assert zh(msgid) in html, msgid
    for english in (">Inbox<", ">Sign out<", ">Claimed by<", ">Apply<"):
        assert english not in html
    assert "共 " in html and " 项任务" in html  # the plural form


def test_english_without_a_chinese_preference(app: Flask) -> None:
    client = sign_in(app, "uc_dongcheng")
    html = page(client, "/", {"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in html
    assert heading(html) == "Inbox"
    assert not CJK.search(heading(html))


def test_switching_to_english_and_back_to_chinese(app: Flask) -> None:
    client = sign_in(app, "uc_dongcheng")
    html = page(client, "/")
    assert heading(html) == zh("Inbox")

    response = client.post("/lang/en", data={"csrf_token": csrf_from(html), "next": "/"}, headers=ZH)
    assert response.status_code == 302
    html = page(client, "/")  # the browser still prefers Chinese: the choice wins
    assert '<html lang="en">' in html
    assert heading(html) == "Inbox"
    assert ">Claimed by<" in html
    assert 'id="switch-language">中文</button>' in html

    response = client.post("/lang/zh", data={"csrf_token": csrf_from(html), "next": "/"}, headers=ZH)
    assert response.status_code == 302
    html = page(client, "/", {"Accept-Language": "en"})  # now Chinese even for an English browser
    assert '<html lang="zh-CN">' in html
    assert heading(html) == zh("Inbox")
    assert 'id="switch-language">English</button>' in html


def test_the_login_page_in_chinese(app: Flask) -> None:
    client = app.test_client()
    html = page(client, "/login")
    assert heading(html) == zh("Sign in") == "登录"
    assert zh("User") in html and zh("Password") in html
    assert ">Password<" not in html and "Sign in" not in html

    response = client.post(
        "/login", data={"user_id": "nobody", "password": "x", "csrf_token": csrf_from(html)}, headers=ZH
    )
    assert response.status_code == 401
    assert zh("Unknown user or wrong password.") in response.get_data(as_text=True)
