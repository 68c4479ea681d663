"""Deploying runs the draft's process tests and is blocked when one fails; identical content is not
a new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import ManualClock
from engine.designer import drafts
from engine.designer.deploy import DeployBlocked, deploy_draft, run_draft_tests
from engine.designer.versions import list_versions
from engine.errors import Invalid
from engine.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
DMN = "processes/reserve_selection/qualification.dmn"
# The maximum-age rule: in the shipped version a nominee *older* than max_age fails.
AGE_RULE = "<text>&gt; conditions['max_age']</text>"
STRICTER = "<text>&gt;= conditions['max_age']</text>"


def only_qualification_tests(files: dict[str, str]) -> dict[str, str]:
    """Keep the two scenarios about the qualification decision (the others take a while)."""
    keep = ("qualification_conditions.test.yaml", "qualification_leap_day_eve.test.yaml")
    return {p: t for p, t in files.items() if "/tests/" not in p or p.endswith(keep)}


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_changed_rule_fails_the_tests_blocks_deploy_then_fixed_tests_deploy(
    deployed: Database, designer: str, clock: ManualClock
) -> None:
    files = only_qualification_tests(
        drafts.open_draft(deployed, designer, "reserve_selection", project_root=ROOT).files
    )
    assert files[DMN].count(AGE_RULE) == 1
    files[DMN] = files[DMN].replace(AGE_RULE, STRICTER)
    assert drafts.save_draft(deployed, designer, "reserve_selection", files).problems == []

    results = run_draft_tests(deployed, "reserve_selection")
    assert [r.passed for r in results] == [False, False]
    with pytest.raises(DeployBlocked) as blocked:
        deploy_draft(deployed, clock, designer, "reserve_selection", "max age is now exclusive")
    assert "2 of 2 process test(s) of reserve_selection failed" in str(blocked.value)
    shown = blocked.value.to_dict()
    assert shown["error"] == "invalid" and [r["passed"] for r in shown["results"]] == [False, False]
    assert shown["results"][0]["line"].startswith("FAIL qualification drops")
    assert [v.version for v in list_versions(deployed, "reserve_selection")] == [1]

    # The designer fixes the tests: a nominee who reached the maximum age now fails.
    fixed = {p: t for p, t in files.items() if not p.endswith(".test.yaml")}
    fixed["processes/reserve_selection/tests/max_age.test.yaml"] = MAX_AGE_TEST
    drafts.save_draft(deployed, designer, "reserve_selection", fixed)
    assert [r.line() for r in run_draft_tests(deployed, "reserve_selection")] == [
        "PASS max age - a nominee who has reached the maximum age is not qualified"
    ]
    result = deploy_draft(deployed, clock, designer, "reserve_selection", "max age is now exclusive")
    assert (result.version, result.created) == (2, True)
    newest = list_versions(deployed, "reserve_selection")[0]
    assert (newest.version, newest.deployed_by, newest.note) == (2, designer, "max age is now exclusive")


def test_identical_content_is_not_a_new_version(
    deployed: Database, designer: str, clock: ManualClock
) -> None:
    template = drafts.new_process_from_template(deployed, designer, "p1", "P1 / 一").draft.files
    first = deploy_draft(deployed, clock, designer, "p1", "first")
    drafts.save_draft(deployed, designer, "p1", template)
    again = deploy_draft(deployed, clock, designer, "p1", "same again")
    assert (again.created, again.version, again.hash) == (False, 1, first.hash)
    assert again.message.startswith("nothing deployed: the draft is identical to p1 version 1")
    assert [v.version for v in list_versions(deployed, "p1")] == [1]


def test_deploy_needs_a_reason(deployed: Database, designer: str, clock: ManualClock) -> None:
    drafts.new_process_from_template(deployed, designer, "p2", "P2 / 二")
    with pytest.raises(Invalid):
        deploy_draft(deployed, clock, designer, "p2", "  ")


MAX_AGE_TEST = """name: max age - a nominee who has reached the maximum age is not qualified
process: reserve_selection
units: [u1]
users:
  li: {roles: [org_department]}
steps:
  - start: {as: li}
  - complete:
      task: open_batch
      as: li
      data:
        batch_name: "2027 batch"
        quota: 1
        units: [u1]
        reference_date: "2027-01-31"
        conditions: {max_age: 35, min_education: bachelor, min_service_years: 2, political_status: any}
  - complete:
      task: nominate
      as: unit_committee@u1
      match: {unit: u1}
      data:
        nominees:
          - {id: n35, name: Exactly 35, birth_date: "1992-01-31", education: bachelor, service_years: 5,
             political_status: party_member, committee_opinion: qualified}
          - {id: n34, name: Still 34, birth_date: "1992-02-01", education: bachelor, service_years: 5,
             political_status: party_member, committee_opinion: qualified}
  - expect: {data: {qualified: [n34]}}
"""
