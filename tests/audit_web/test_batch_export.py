"""The finished demo batch as CSV and XLSX: one row per nominee, read back as a spreadsheet would."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from engine.audit.batch_export import HEADER, BatchTable, batch_table, to_csv, to_xlsx
from engine.errors import Invalid, NotFound
from engine.store.db import Database
from tests.audit_web.conftest import finished_batch


def test_csv_and_xlsx_hold_every_nominee_with_outcome(demo_db: Database) -> None:
    table = batch_table(demo_db, finished_batch(demo_db))
    raw = to_csv(table)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(HEADER) and "Name / 姓名" in rows[0]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(by_id) == 20
    assert by_id["x01"][3] == "admitted" and by_id["x01"][11] == "wu_changwei"
    assert by_id["d06"][3:5] == ["dropped", "recommendation"] and by_id["d06"][6:8] == ["12", "30"]
    assert by_id["b05"][8] == ""  # absent: no score
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(HEADER)
    xlsx = {row[0]: row for row in values[1:]}
    assert xlsx["x02"][4] == "ratio_elimination" and xlsx["x02"][8] == 81.0
    assert xlsx["d03"][1] == "Yang Jing 杨静" and xlsx["d03"][3] == "admitted"


def test_text_that_looks_like_a_formula_stays_text() -> None:
    row = ["=cmd()", "+1", "-x", "@sum", "plain", 5, None, None, None, None, None, None, None, None]
    table = BatchTable("c", "t", HEADER, [row])
    line = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"))))[1]
    assert line[:6] == ["'=cmd()", "'+1", "'-x", "'@sum", "plain", "5"]
    cells = list(load_workbook(io.BytesIO(to_xlsx(table))).active.iter_rows(values_only=True))[1]
    assert cells[0] == "'=cmd()" and cells[5] == 5


def test_only_selection_batches_export(demo_db: Database) -> None:
    from sqlalchemy import select

    from engine.store.models import Case

    with demo_db.read() as session:
        cadre = session.scalar(select(Case.id).where(Case.process_id == "reserve_cadre"))
    with pytest.raises(Invalid):
        batch_table(demo_db, str(cadre))
    with pytest.raises(NotFound):
        batch_table(demo_db, "c-none")
