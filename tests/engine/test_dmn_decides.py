"""The `qualification` DMN really decides: change one of its rows and outcomes change."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.process_tests import ProcessTestRunner
from tests.project_copy import copy_project

DMN = "processes/reserve_selection/qualification.dmn"

SCENARIO = {
    "name": "a 45-year-old nominee against max_age 40",
    "process": "reserve_selection",
    "units": ["u1"],
    "steps": [
        {"start": {"as": "org_department"}},
        {
            "complete": {
                "task": "open_batch",
                "as": "org_department",
                "data": {
                    "batch_name": "dmn",
                    "quota": 1,
                    "units": ["u1"],
                    "reference_date": "2027-01-01",
                    "conditions": {
                        "max_age": 40,
                        "min_education": "bachelor",
                        "min_service_years": 3,
                        "political_status": "any",
                    },
                },
            }
        },
        {
            "complete": {
                "task": "nominate",
                "as": "unit_committee@u1",
                "match": {"unit": "u1"},
                "data": {
                    "nominees": [
                        {
                            "id": "old",
                            "name": "Old",
                            "birth_date": "1981-06-01",
                            "education": "bachelor",
                            "service_years": 20,
                            "political_status": "non_party",
                            "committee_opinion": "qualified",
                        },
                        {
                            "id": "young",
                            "name": "Young",
                            "birth_date": "1995-06-01",
                            "education": "bachelor",
                            "service_years": 5,
                            "political_status": "non_party",
                            "committee_opinion": "qualified",
                        },
                    ]
                },
            }
        },
    ],
}


def _project_copy(tmp_path: Path, dmn_edit: tuple[str, str] | None) -> Path:
    return copy_project(tmp_path, {DMN: [dmn_edit]} if dmn_edit else None)


def _outcome(root: Path, expect: dict) -> list[str]:
    runner = ProcessTestRunner(root)
    try:
        test = dict(SCENARIO, steps=SCENARIO["steps"] + [{"expect": expect}])
        path = root / "dmn.test.yaml"
        path.write_text(yaml.safe_dump(test, allow_unicode=True), encoding="utf-8")
        return [r.line() for r in runner.run_file(path)]
    finally:
        runner.close()


def test_as_shipped_the_age_row_drops_the_older_nominee(tmp_path: Path) -> None:
    lines = _outcome(
        _project_copy(tmp_path, None),
        {
            "ready": ["democratic_recommendation"],
            "dropped_stages": {"old": "qualification"},
            "data": {"qualified": ["young"]},
        },
    )
    assert lines == ["PASS a 45-year-old nominee against max_age 40"], lines


def test_changing_the_age_row_changes_who_qualifies(tmp_path: Path) -> None:
    edited = _project_copy(
        tmp_path, ("&gt; conditions['max_age']</text>", "&gt; conditions['max_age'] + 10</text>")
    )
    lines = _outcome(
        edited, {"ready": ["democratic_recommendation"], "data": {"qualified": ["old", "young"]}}
    )
    assert lines == ["PASS a 45-year-old nominee against max_age 40"], lines


def test_a_new_row_adds_a_condition(tmp_path: Path) -> None:
    """A row that fails everyone without a master's degree, added by a designer, takes effect."""
    row = """<rule id="rule_master_only">
        <inputEntry id="m1"><text>-</text></inputEntry>
        <inputEntry id="m2"><text>&lt; 3</text></inputEntry>
        <inputEntry id="m3"><text>-</text></inputEntry>
        <inputEntry id="m4"><text>-</text></inputEntry>
        <inputEntry id="m5"><text>-</text></inputEntry>
        <outputEntry id="m6"><text>"master_required"</text></outputEntry>
      </rule>
    </decisionTable>"""
    edited = _project_copy(tmp_path, ("</decisionTable>", row))
    lines = _outcome(
        edited,
        {
            "finished": True,
            "data": {"admitted": []},
            "dropped_stages": {"old": "qualification", "young": "qualification"},
        },
    )
    assert lines == ["PASS a 45-year-old nominee against max_age 40"], lines
