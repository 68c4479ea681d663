"""Searching the demo's cases as an auditor (and refusing everyone else)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.audit.search import CaseSearch, search_cases
from engine.errors import Forbidden, Invalid
from engine.store.db import Database
from tests.audit_web.conftest import finished_batch


def ids(db: Database, **filters: object) -> set[str]:
    return {hit.case_id for hit in search_cases(db, "ma_audit", CaseSearch(page_size=200, **filters)).hits}


def test_filters_by_process_batch_candidate_and_unit(demo_db: Database) -> None:
    everything = ids(demo_db)
    selection = ids(demo_db, process="reserve_selection")
    cadres = ids(demo_db, process="reserve_cadre")
    assert len(selection) == 4 and cadres and selection | cadres <= everything
    first = finished_batch(demo_db)
    assert ids(demo_db, batch="FIRST batch") == {first}
    assert ids(demo_db, batch=first) == {first}
    # b01 is a nominee of every batch past nomination (all but the fourth) and has a cadre file
    with_b01 = ids(demo_db, candidate="b01")
    fourth = ids(demo_db, batch="fourth batch")
    assert with_b01 & selection == selection - fourth and len(fourth) == 1 and with_b01 & cadres
    assert ids(demo_db, candidate="Bater", process="reserve_selection") == selection - fourth
    assert ids(demo_db, candidate="nobody-at-all") == set()
    assert ids(demo_db, unit="bayin", process="reserve_selection") == selection
    assert ids(demo_db, unit="no-such-unit") == set()


def test_date_range_and_pages(demo_db: Database) -> None:
    everything = ids(demo_db)
    far_future = date.today() + timedelta(days=3650)
    assert ids(demo_db, date_from=far_future) == set()
    assert ids(demo_db, date_to=date(2000, 1, 1)) == set()
    assert ids(demo_db, date_from=date(2000, 1, 1), date_to=far_future) == everything
    first = search_cases(demo_db, "ma_audit", CaseSearch(page=1, page_size=3))
    second = search_cases(demo_db, "ma_audit", CaseSearch(page=2, page_size=3))
    assert first.total == len(everything) and first.pages == -(-len(everything) // 3)
    assert len(first.hits) == 3 and not {h.case_id for h in first.hits} & {h.case_id for h in second.hits}
    assert "reserve_selection" in first.processes and [u[0] for u in first.units] == [
        "bayin",
        "dongcheng",
        "xihe",
    ]


def test_refusals(demo_db: Database) -> None:
    with pytest.raises(Forbidden):
        search_cases(demo_db, "li_org", CaseSearch())
    with pytest.raises(Invalid):
        search_cases(demo_db, "ma_audit", CaseSearch(date_from=date(2027, 2, 1), date_to=date(2027, 1, 1)))
    with pytest.raises(Invalid):
        search_cases(demo_db, "ma_audit", CaseSearch(page_size=0))
