"""Languages: English and Simplified Chinese.

UI strings go through Flask-Babel (``webui/translations``, compiled by ``scripts/bootstrap.sh``).
Labels that come from process files (BPMN names, form titles, lane names) are written once in both
languages as ``English / 中文``; :func:`pick` shows the half for the current language.
"""

from __future__ import annotations

import re

from flask import request, session
from flask_babel import Babel, get_locale

LANGUAGES = {"en": "English", "zh": "中文"}
_CJK = re.compile(r"[\u3400-\u9fff]")


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(["zh", "en"]) or "en"


def current_language() -> str:
    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


def pick(text: object, language: str | None = None) -> str:
    """``'Open batch / 开启批次'`` → the half in the current language (the whole text if not bilingual)."""
    if not isinstance(text, str):
        return "" if text is None else str(text)
    parts = [p.strip() for p in text.split(" / ")]
    if len(parts) < 2:
        return text
    chinese = [p for p in parts if _CJK.search(p)]
    english = [p for p in parts if not _CJK.search(p)]
    wanted = chinese if (language or current_language()) == "zh" else english
    return " / ".join(wanted) if wanted else text


babel = Babel()
