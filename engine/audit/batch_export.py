"""A selection batch's candidates and outcomes as a table, written to CSV and XLSX.

One row per nominee, from the same explanation the auditor's page shows (``engine.audit.explain``),
plus the figures every candidate has (votes, exam score, composite score, inspection rating) so a
spreadsheet can sort and filter by them. Headers are bilingual (``English / 中文``), the form the
project uses for labels in files.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) get a leading apostrophe: nominee names and reasons are typed by people.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from engine.audit.explain import explain_case
from engine.canonical import format_time
from engine.errors import Invalid, NotFound
from engine.store.db import Database
from engine.store.models import Case

PROCESS_ID = "reserve_selection"
HEADER = (
    "ID / 编号",
    "Name / 姓名",
    "Unit / 单位",
    "Outcome / 结果",
    "Stage / 阶段",
    "Reason / 理由",
    "Votes / 得票",
    "Participants / 参加人数",
    "Exam score / 考试成绩",
    "Composite score / 综合成绩",
    "Inspection rating / 考察等次",
    "Decided by / 决定人",
    "Decided at (UTC) / 决定时间",
    "Event / 事件序号",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


@dataclass(frozen=True)
class BatchTable:
    case_id: str
    title: str
    header: tuple[str, ...]
    rows: list[list[Cell]]


def batch_table(db: Database, case_id: str) -> BatchTable:
    """The candidates of selection batch ``case_id`` with their outcomes (callers check the reader).

    Raises:
        NotFound: no such case.
        Invalid: the case is not a selection batch.
    """
    with db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}", case_id=case_id)
        if case.process_id != PROCESS_ID:
            raise Invalid(
                f"case {case_id} is a {case.process_id} case, not a selection batch", case_id=case_id
            )
        data = json.loads(case.data_json)
        title = case.title
    explanation = explain_case(db, case_id)
    rates = _dict(data.get("recommendation_rates"))
    rows: list[list[Cell]] = []
    for nominee in explanation.nominees:
        rate = _dict(rates.get(nominee.candidate))
        decided = nominee.decided
        rows.append(
            [
                nominee.candidate,
                nominee.name,
                nominee.unit,
                nominee.outcome,
                nominee.stage,
                nominee.reason,
                rate.get("votes"),
                rate.get("participants"),
                _dict(data.get("exam_scores")).get(nominee.candidate),
                _dict(data.get("composite_scores")).get(nominee.candidate),
                _dict(_dict(data.get("inspections")).get(nominee.candidate)).get("rating"),
                decided.actor if decided else None,
                format_time(decided.at) if decided else None,
                decided.seq if decided else None,
            ]
        )
    return BatchTable(case_id=case_id, title=title, header=HEADER, rows=rows)


def to_csv(table: BatchTable) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese as such."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if cell is None else _safe(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: BatchTable) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates 候选人"
    sheet.append(list(table.header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_safe(cell) for cell in row])
    sheet.freeze_panes = "A2"
    for index, title in enumerate(table.header):
        width = max([len(title)] + [len(str(row[index] or "")) for row in table.rows])
        sheet.column_dimensions[sheet.cell(row=1, column=index + 1).column_letter].width = min(60, width + 2)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _safe(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
