"""One failing and one passing minimal BPMN per lint rule; each problem carries its rule id and element.

The processes are built from a start, the nodes and flows a test gives, and an end, all in the
``org_department`` lane, with one form (``review.schema.yaml``: fields ``decision`` and ``comment``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpmn.loader import validate_paths
from engine.bpmn.validation.lint import names_read
from engine.bpmn.validation.rules import RULES
from engine.errors import DefinitionError

FORM = """$schema: https://json-schema.org/draft/2020-12/schema
type: object
properties:
  decision: {enum: [approve, reject]}
  comment: {type: string}
"""


def user_task(tid: str, form: str = "review.schema.yaml") -> str:
    return (
        f'<bpmn:userTask id="{tid}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    )


def script(tid: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{tid}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def gateway(gid: str, default: str | None = None) -> str:
    extra = f' default="{default}"' if default else ""
    return f'<bpmn:exclusiveGateway id="{gid}"{extra} />'


def flow(fid: str, src: str, dst: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}" />'
    return (
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def process(nodes: list[str], flows: list[str], lane: str = "org_department") -> str:
    ids = ["start", "end"] + [n.split('id="', 1)[1].split('"', 1)[0] for n in nodes]
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">
  <bpmn:process id="lint" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="{lane}">{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    {"".join(nodes)}
    <bpmn:endEvent id="end" />
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>
"""


def problems(tmp_path: Path, bpmn: str) -> list[DefinitionError]:
    (tmp_path / "forms").mkdir(exist_ok=True)
    (tmp_path / "forms" / "review.schema.yaml").write_text(FORM, encoding="utf-8")
    folder = tmp_path / "processes" / "lint"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lint.bpmn").write_text(bpmn, encoding="utf-8")
    return validate_paths([folder])


def with_rule(found: list[DefinitionError], rule: str) -> list[tuple[str | None, str]]:
    return [(p.element_id, p.message) for p in found if p.rule == rule]


def review_flow(form: str = "review.schema.yaml", lane: str = "org_department") -> str:
    return process(
        [user_task("review", form)], [flow("f1", "start", "review"), flow("f2", "review", "end")], lane
    )


# -- lane-role --------------------------------------------------------------------------------------


def test_lane_role_fails_for_a_lane_that_is_not_a_role(tmp_path: Path) -> None:
    found = problems(tmp_path, review_flow(lane="auditor"))
    assert [e for e, _ in with_rule(found, "lane-role")] == ["review"]
    assert "[lane-role] user task is in lane 'auditor'" in found[0].location()


def test_lane_role_passes_in_a_role_lane(tmp_path: Path) -> None:
    assert problems(tmp_path, review_flow()) == []


# -- form-exists ------------------------------------------------------------------------------------


def test_form_exists_fails_for_a_missing_form(tmp_path: Path) -> None:
    found = problems(tmp_path, review_flow(form="missing.schema.yaml"))
    assert [(e, m.split(" not found")[0]) for e, m in with_rule(found, "form-exists")] == [
        ("review", "form file 'missing.schema.yaml'")
    ]


def test_form_exists_passes_with_the_form_in_forms(tmp_path: Path) -> None:
    assert with_rule(problems(tmp_path, review_flow()), "form-exists") == []


# -- timer-quoted -----------------------------------------------------------------------------------


def timer_process(duration: str) -> str:
    timer = (
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="wait_def">'
        f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )
    return process([timer], [flow("f1", "start", "wait"), flow("f2", "wait", "end")])


def test_timer_quoted_fails_for_a_bare_duration(tmp_path: Path) -> None:
    found = problems(tmp_path, timer_process("P7D"))
    assert [e for e, _ in with_rule(found, "timer-quoted")] == ["wait"]


def test_timer_quoted_passes_for_a_quoted_duration(tmp_path: Path) -> None:
    assert problems(tmp_path, timer_process('"P7D"')) == []


# -- loop-bound -------------------------------------------------------------------------------------


def counting_loop(body: str) -> str:
    """start -> init -> gw -(n &lt; 3)-> work -> gw; gw -(default)-> end."""
    return process(
        [script("init", "n = 0"), gateway("gw", default="f_out"), script("work", body)],
        [
            flow("f1", "start", "init"),
            flow("f2", "init", "gw"),
            flow("f_again", "gw", "work", "n &lt; 3"),
            flow("f_back", "work", "gw"),
            flow("f_out", "gw", "end"),
        ],
    )


def test_loop_bound_fails_when_nothing_in_the_loop_changes_its_condition(tmp_path: Path) -> None:
    found = problems(tmp_path, counting_loop("m = 1"))
    rule = with_rule(found, "loop-bound")
    assert [e for e, _ in rule] == ["gw"]
    assert "its conditions read n" in rule[0][1]


def test_loop_bound_passes_when_the_loop_counts(tmp_path: Path) -> None:
    assert problems(tmp_path, counting_loop("n = n + 1")) == []


def test_loop_bound_fails_for_a_loop_with_no_way_out(tmp_path: Path) -> None:
    bpmn = process(
        [script("a", "x = 1"), script("b", "x = 2"), gateway("gw")],
        [flow("f1", "start", "gw"), flow("f2", "gw", "a"), flow("f3", "a", "b"), flow("f4", "b", "gw")],
    )
    rule = with_rule(problems(tmp_path, bpmn), "loop-bound")
    assert rule == [("gw", "the loop a -> b -> gw has no way out")]


def test_loop_bound_passes_for_a_loop_a_form_decides(tmp_path: Path) -> None:
    bpmn = process(
        [user_task("review"), gateway("gw", default="f_out")],
        [
            flow("f1", "start", "review"),
            flow("f2", "review", "gw"),
            flow("f_again", "gw", "review", "decision == 'reject'"),
            flow("f_out", "gw", "end"),
        ],
    )
    assert problems(tmp_path, bpmn) == []


def test_loop_bound_fails_for_a_standard_loop_without_maximum_or_condition(tmp_path: Path) -> None:
    looped = script("work", "n = 1").replace(
        "<bpmn:script>", "<bpmn:standardLoopCharacteristics /><bpmn:script>"
    )
    bpmn = process([looped], [flow("f1", "start", "work"), flow("f2", "work", "end")])
    assert [e for e, _ in with_rule(problems(tmp_path, bpmn), "loop-bound")] == ["work"]


# -- read-before-write ------------------------------------------------------------------------------


def branch(first: str) -> str:
    """start -> first -> gw -(decision == 'approve')-> end; gw -(default)-> end2."""
    return process(
        [first, gateway("gw", default="f_no"), '<bpmn:endEvent id="end2" />'],
        [
            flow("f1", "start", first.split('id="', 1)[1].split('"', 1)[0]),
            flow("f2", first.split('id="', 1)[1].split('"', 1)[0], "gw"),
            flow("f_yes", "gw", "end", "decision == 'approve'"),
            flow("f_no", "gw", "end2"),
        ],
    )


def test_read_before_write_fails_when_nothing_writes_the_variable(tmp_path: Path) -> None:
    found = problems(tmp_path, branch(script("prepare", "tmp_decision = 'approve'")))
    assert with_rule(found, "read-before-write") == [
        ("f_yes", "the condition reads decision, which no form, script or decision writes before gw")
    ]
    assert "f_yes: [read-before-write] the condition reads decision" in found[0].location()


def test_read_before_write_passes_when_a_form_writes_it(tmp_path: Path) -> None:
    assert problems(tmp_path, branch(user_task("review"))) == []


def test_read_before_write_passes_when_a_script_writes_it(tmp_path: Path) -> None:
    assert problems(tmp_path, branch(script("prepare", "decision = 'approve'"))) == []


def test_names_read_skips_builtins_helpers_and_bound_names() -> None:
    assert names_read("len([x for x in items if x]) > quota and age_on(d, ref) < 40") == {
        "items",
        "quota",
        "d",
        "ref",
    }


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_is_documented_in_the_readme(rule: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"`{rule}`" in readme, f"README does not describe lint rule {rule}"


def test_cadreflow_validate_prints_the_rule(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    problems(tmp_path, review_flow(lane="auditor"))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "processes" / "lint")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'processes' / 'lint' / 'lint.bpmn'}:" in result.output
    assert ": review: [lane-role] user task is in lane 'auditor'" in result.output


def test_read_before_write_follows_link_events(tmp_path: Path) -> None:
    def link(tag: str, lid: str) -> str:
        return f'<bpmn:{tag} id="{lid}"><bpmn:linkEventDefinition id="{lid}_def" name="jump" /></bpmn:{tag}>'

    def jumped(code: str) -> str:
        return process(
            [
                script("prepare", code),
                link("intermediateThrowEvent", "go"),
                link("intermediateCatchEvent", "land"),
                gateway("gw", default="f_no"),
                '<bpmn:endEvent id="end2" />',
            ],
            [
                flow("f1", "start", "prepare"),
                flow("f2", "prepare", "go"),
                flow("f3", "land", "gw"),
                flow("f_yes", "gw", "end", "decision == 'approve'"),
                flow("f_no", "gw", "end2"),
            ],
        )

    assert with_rule(problems(tmp_path, jumped("decision = 'approve'")), "read-before-write") == []
    assert [e for e, _ in with_rule(problems(tmp_path, jumped("other = 1")), "read-before-write")] == [
        "f_yes"
    ]
