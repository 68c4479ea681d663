"""The inbox: my ready tasks (filtered, searched, sorted, paged, counted per facet) and the tasks I did.

Every filter is a GET parameter, so a filtered inbox can be bookmarked:

``view`` (all | mine | available), ``process``, ``task`` (BPMN element id), ``unit`` (``-`` = tasks
without a unit), ``batch`` (case id), ``q`` (candidate or batch name), ``sort`` (due | -due | created)
and ``page``. Unknown values of ``view``/``sort`` and bad page numbers fall back to the defaults.
The engine (``engine.inbox``) decides what is in the inbox; this module only asks and shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases import startable_processes
from engine.inbox import SORTS, VIEWS, InboxFilters, done_tasks, inbox_page
from webui.context import actor, web
from webui.i18n import pick
from webui.security import login_required

bp = Blueprint("inbox", __name__)

NO_UNIT = "-"  # the GET value that selects the tasks without a unit (the engine's "")
FILTER_KEYS = ("view", "process", "task", "unit", "batch", "q", "sort")


def page_size() -> int:
    size = current_app.config.get("PAGE_SIZE") or 20
    return max(1, min(200, int(size)))


def case_url(case_id: str) -> str:
    """The case page; its blueprint may not exist yet, so the URL is a plain path."""
    return f"/cases/{case_id}"


def format_time(value: datetime | None, with_time: bool = False) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The page links to show: first, last and a window around ``page``; ``None`` is a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and out[-1] is not None and number - out[-1] > 1:
            out.append(None)
        out.append(number)
    return out


def _args() -> dict[str, str]:
    """The current filters as given (only known keys, empty ones left out)."""
    out = {key: request.args.get(key, "").strip() for key in FILTER_KEYS}
    if out["view"] not in VIEWS:
        out["view"] = ""
    if out["sort"] not in SORTS:
        out["sort"] = ""
    return {key: value for key, value in out.items() if value}


def _filters(args: dict[str, str], page: int, size: int) -> InboxFilters:
    unit = args.get("unit")
    return InboxFilters(
        view=args.get("view", "all"),
        process=args.get("process") or None,
        task=args.get("task") or None,
        unit=("" if unit == NO_UNIT else unit) or None,
        batch=args.get("batch") or None,
        search=args.get("q") or None,
        sort=args.get("sort", "due"),
        page=page,
        page_size=size,
    )


def _options(facet: str, counts: dict[str, int], labels: dict[str, str], chosen: str) -> list[dict[str, Any]]:
    """The options of one filter select: value, label and count, the chosen one kept even at 0."""
    out = []
    values = dict(counts)
    engine_chosen = "" if (facet == "unit" and chosen == NO_UNIT) else chosen
    if chosen and engine_chosen not in values:
        values[engine_chosen] = 0
    for value, count in values.items():
        if facet == "unit" and value == "":
            shown_value, label = NO_UNIT, _("No unit")
        else:
            shown_value, label = value, pick(labels.get(value) or value)
        out.append({"value": shown_value, "label": label, "count": count, "selected": shown_value == chosen})
    return sorted(out, key=lambda o: (o["label"].casefold(), o["value"]))


def _requested_page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, page)


@bp.get("/")
@login_required
def index() -> Any:
    args = _args()
    size = page_size()
    result = inbox_page(web().db, actor().user_id, _filters(args, _requested_page(), size), web().clock.now())

    def link(**changes: Any) -> str:
        """This inbox with some filters changed (and back on page 1 unless a page is given)."""
        params: dict[str, Any] = {k: v for k, v in args.items()}
        params.pop("page", None)
        for key, value in changes.items():
            if value in (None, "") or (key == "page" and value == 1):
                params.pop(key, None)
            else:
                params[key] = value
        return url_for("inbox.index", **params)

    selects = [
        ("process", _("Process"), _("All processes")),
        ("task", _("Task"), _("All tasks")),
        ("unit", _("Unit"), _("All units")),
        ("batch", _("Batch"), _("All batches")),
    ]
    filters = [
        {
            "name": name,
            "label": label,
            "any": any_label,
            "options": _options(
                name, result.counts.get(name, {}), result.labels.get(name, {}), args.get(name, "")
            ),
        }
        for name, label, any_label in selects
    ]
    tabs = [
        {
            "view": view,
            "label": label,
            "count": result.counts.get("view", {}).get(view, 0),
            "url": link(view=None if view == "all" else view),
            "active": args.get("view", "all") == view,
        }
        for view, label in (
            ("all", _("All")),
            ("mine", _("Assigned to me")),
            ("available", _("Available to claim")),
        )
    ]
    sorts = [
        ("due", _("Due date, soonest first")),
        ("-due", _("Due date, latest first")),
        ("created", _("Created, oldest first")),
    ]
    filtered = any(key in args for key in ("process", "task", "unit", "batch", "q"))
    return render_template(
        "inbox.html",
        result=result,
        args=args,
        tabs=tabs,
        filters=filters,
        sorts=sorts,
        filtered=filtered,
        link=link,
        page_link=lambda number: link(page=number),
        pages=page_numbers(result.page, result.pages),
        case_url=case_url,
        format_time=format_time,
        me=actor().user_id,
        here=request.full_path.rstrip("?"),
        startable=startable_processes(web().db, actor().user_id),
    )


@bp.get("/done")
@login_required
def done() -> Any:
    result = done_tasks(web().db, actor().user_id, _requested_page(), page_size())

    def link(page: int) -> str:
        return url_for("inbox.done", page=page) if page > 1 else url_for("inbox.done")

    return render_template(
        "done.html",
        result=result,
        link=link,
        pages=page_numbers(result.page, result.pages),
        case_url=case_url,
        format_time=format_time,
    )
