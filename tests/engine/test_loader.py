"""Tests for engine.bpmn.loader: every check reports ``file:line: element-id: message`` exactly.

Fixtures live in ``fixtures/loader/``: ``demo/`` (a user task with form, dueIn and unitKey, a script, a
gateway condition, an embedded sub-process with its own user task and a quoted timer), ``scoring/``
(a business rule task calling a COLLECT decision table) and ``forms/``. Each failing case copies a
good fixture into ``tmp_path`` and changes one thing; expected lines are found in the changed text,
so a test states *which* line must be reported, not a number that drifts when a fixture is edited.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.loader import ENTITY_MESSAGE, ProcessBundle, load_process_folder, parse_specs, validate_paths
from engine.errors import DefinitionError, DefinitionErrors

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
DEMO = (FIXTURES / "demo" / "demo.bpmn").read_text(encoding="utf-8")
SCORING = (FIXTURES / "scoring" / "scoring.bpmn").read_text(encoding="utf-8")
FLAGS = (FIXTURES / "scoring" / "flags.dmn").read_text(encoding="utf-8")


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_minimal"
                  targetNamespace="http://cadreflow.example/bpmn">
  <bpmn:process id="minimal" isExecutable="true">
    <bpmn:startEvent id="minimal_start" />
  </bpmn:process>
</bpmn:definitions>
"""

# ------------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with ``forms/`` (the fixture forms) and an empty ``processes/``."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "forms", root / "forms")
    (root / "processes").mkdir()
    return root


def make_folder(project: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder = project / "processes" / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / file_name).write_bytes(data)
    return folder


def changed(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a fixture edit cannot silently make a test vacuous."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} on lines {hits}"
    return hits[0]


def problems_of(folder: Path, forms: Path) -> list[DefinitionError]:
    with pytest.raises(DefinitionErrors) as info:
        load_process_folder(folder, forms)
    assert info.value.problems, "DefinitionErrors without problems"
    return info.value.problems


def locations(problems: list[DefinitionError]) -> list[str]:
    return [p.location() for p in problems]


def only(problems: list[DefinitionError]) -> DefinitionError:
    assert len(problems) == 1, "\n".join(locations(problems))
    return problems[0]


def load_demo(project: Path, text: str = DEMO) -> tuple[Path, list[DefinitionError]]:
    folder = make_folder(project, "demo", {"demo.bpmn": text})
    return folder / "demo.bpmn", problems_of(folder, project / "forms")


# ------------------------------------------------------------------------------------------------
# good processes


def test_good_process_loads_with_user_task_metadata(project: Path) -> None:
    folder = make_folder(project, "demo", {"demo.bpmn": DEMO})
    bundle = load_process_folder(folder, project / "forms")

    assert isinstance(bundle, ProcessBundle)
    assert bundle.process_id == "demo"
    assert sorted(bundle.files) == [
        "forms/open_batch.schema.yaml",
        "forms/review.schema.yaml",
        "processes/demo/demo.bpmn",
    ]
    assert bundle.files["processes/demo/demo.bpmn"] == DEMO.encode("utf-8")
    assert bundle.process_properties == {"cycle": "yearly"}

    open_batch = bundle.user_tasks["open_batch"]
    assert open_batch.name == "Open batch"
    assert open_batch.lane == "org_department"
    assert open_batch.form_key == "open_batch.schema.yaml"
    assert open_batch.due_in == "P7D"
    assert open_batch.unit_key == "town"
    assert open_batch.instructions == "Open the selection batch for the year."
    assert open_batch.properties == {
        "formJsonSchemaFilename": "open_batch.schema.yaml",
        "dueIn": "P7D",
        "unitKey": "town",
    }
    assert open_batch.file == "processes/demo/demo.bpmn"
    assert open_batch.line == line_of(DEMO, '<bpmn:userTask id="open_batch"') == 25

    # A user task inside an embedded sub-process, in no lane of its own: it takes the sub-process's lane,
    # exactly as SpiffWorkflow does (checked against the parsed spec in the parse_specs test).
    review = bundle.user_tasks["review_batch"]
    assert review.lane == "org_department"
    assert review.unit_key == "unit"
    assert review.due_in is None and review.instructions is None

    assert bundle.forms["open_batch.schema.yaml"]["required"] == ["year", "quota"]
    assert bundle.forms["review.schema.yaml"]["properties"] == {"approved": {"type": "boolean"}}


def test_content_hash_is_stable_and_changes_with_any_byte(project: Path) -> None:
    folder = make_folder(project, "demo", {"demo.bpmn": DEMO})
    first = load_process_folder(folder, project / "forms")
    second = load_process_folder(folder, project / "forms")
    assert first.content_hash == second.content_hash
    listing = sorted([path, hashlib.sha256(data).hexdigest()] for path, data in first.files.items())
    canonical = json.dumps(listing, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert first.content_hash == hashlib.sha256(canonical).hexdigest()

    (folder / "demo.bpmn").write_text(
        changed(DEMO, 'name="Open batch"', 'name="Open batch!"'), encoding="utf-8"
    )
    assert load_process_folder(folder, project / "forms").content_hash != first.content_hash

    (folder / "demo.bpmn").write_text(DEMO, encoding="utf-8")
    form = project / "forms" / "review.schema.yaml"
    form.write_bytes(form.read_bytes() + b"\n")
    assert load_process_folder(folder, project / "forms").content_hash != first.content_hash


def test_parse_specs_from_bundle_files_starts_a_workflow(project: Path) -> None:
    folder = make_folder(project, "demo", {"demo.bpmn": DEMO})
    bundle = load_process_folder(folder, project / "forms")

    spec, subprocess_specs = parse_specs(dict(bundle.files))
    assert spec.name == "demo"
    assert "review" in subprocess_specs  # the embedded sub-process

    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY)
    assert [t.task_spec.bpmn_id for t in ready] == ["open_batch"]
    assert ready[0].task_spec.lane == "org_department"
    assert ready[0].task_spec.extensions["properties"]["formJsonSchemaFilename"] == "open_batch.schema.yaml"

    ready[0].run()
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY)
    assert [t.task_spec.bpmn_id for t in ready] == ["review_batch"]
    assert ready[0].task_spec.lane == bundle.user_tasks["review_batch"].lane
    assert ready[0].data["total"] == 6


def test_dmn_collect_decision_loads_and_runs(project: Path) -> None:
    folder = make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": FLAGS})
    bundle = load_process_folder(folder, project / "forms")
    assert bundle.process_id == "scoring"
    assert "processes/scoring/flags.dmn" in bundle.files

    spec, subprocess_specs = parse_specs(bundle.files)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY)
    assert [t.task_spec.bpmn_id for t in ready] == ["confirm"]
    assert ready[0].data["flag"] == ["over_age", "checked"]


def test_validate_paths_accepts_folders_of_folders_single_files_and_finds_forms(project: Path) -> None:
    demo = make_folder(project, "demo", {"demo.bpmn": DEMO})
    make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": FLAGS})
    assert validate_paths([project / "processes"]) == []
    assert validate_paths([demo]) == []
    assert validate_paths([demo / "demo.bpmn"]) == []
    assert validate_paths([demo], forms_dir=project / "forms") == []


# ------------------------------------------------------------------------------------------------
# stage 1: safe XML


def test_malformed_xml_is_located(project: Path) -> None:
    text = changed(DEMO, "</bpmn:scriptTask>", "</bpmn:scriptTsk>")
    path, problems = load_demo(project, text)
    problem = only(problems)
    assert problem.location().startswith(f"{path}:{line_of(text, '</bpmn:scriptTsk>')}: -: malformed XML: ")
    assert "Opening and ending tag mismatch" in problem.message


@pytest.mark.parametrize("content", [b"", b"\x00\x01 not xml at all", b"<bpmn:definitions"])
def test_garbage_never_raises_a_raw_exception(project: Path, content: bytes) -> None:
    path, problems = load_demo(project, content)  # type: ignore[arg-type]
    assert problems[0].file == str(path)
    assert problems[0].message.startswith("malformed XML")


def test_xml_external_entity_is_refused_without_reading_the_file(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    text = changed(
        DEMO, "<bpmn:definitions", f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<bpmn:definitions'
    )
    text = changed(text, "Open the selection batch", "&xxe;")
    started = time.perf_counter()
    path, problems = load_demo(project, text)
    assert time.perf_counter() - started < 1.0
    assert locations(problems) == [f"{path}:2: -: {ENTITY_MESSAGE}"]
    assert ENTITY_MESSAGE == (
        "DOCTYPE with entity declarations is not allowed (XML external entity / entity expansion)"
    )
    assert all("TOP-SECRET" not in str(p) for p in problems)

    # Stored content is parsed with the same guard.
    with pytest.raises(DefinitionErrors) as info:
        parse_specs({"processes/demo/demo.bpmn": text.encode("utf-8")})
    assert locations(info.value.problems) == [f"processes/demo/demo.bpmn:2: -: {ENTITY_MESSAGE}"]


def test_parameter_entity_is_refused(project: Path) -> None:
    text = '<?xml version="1.0"?>\n<!DOCTYPE d [\n<!ENTITY % p SYSTEM "file:///etc/passwd">\n%p;\n]>\n<d/>\n'
    path, problems = load_demo(project, text)
    assert locations(problems) == [f"{path}:2: -: {ENTITY_MESSAGE}"]


def test_billion_laughs_is_refused_quickly(project: Path) -> None:
    entities = "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    text = (
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE lolz [\n"
        '  <!ENTITY lol0 "lol">\n'
        f"{entities}"
        "]>\n"
        "<lolz>&lol9;</lolz>\n"
    )
    started = time.perf_counter()
    path, problems = load_demo(project, text)
    assert time.perf_counter() - started < 1.0
    assert locations(problems) == [f"{path}:2: -: {ENTITY_MESSAGE}"]


def test_a_doctype_mentioned_inside_a_script_is_not_a_doctype(project: Path) -> None:
    text = changed(DEMO, "total = quota * 2", "total = quota * 2\npage = '&lt;!DOCTYPE html&gt;'")
    folder = make_folder(project, "demo", {"demo.bpmn": text})
    assert load_process_folder(folder, project / "forms").process_id == "demo"


# ------------------------------------------------------------------------------------------------
# stage 2: XSD


def test_unknown_bpmn_element_is_reported_by_the_xsd(project: Path) -> None:
    text = changed(
        DEMO,
        '    <bpmn:endEvent id="end">',
        '    <bpmn:frobnicate id="frob" />\n    <bpmn:endEvent id="end">',
    )
    path, problems = load_demo(project, text)
    problem = only(problems)
    line = line_of(text, "bpmn:frobnicate")
    assert problem.location().startswith(
        f"{path}:{line}: frob: XSD: Element 'bpmn:frobnicate': This element is not expected."
    )


def test_xsd_error_on_an_element_without_id_names_the_enclosing_element(project: Path) -> None:
    text = changed(DEMO, "<bpmn:script>quota = 3", "<bpmn:bogus />\n      <bpmn:script>quota = 3")
    path, problems = load_demo(project, text)
    problem = only(problems)
    assert problem.location().startswith(
        f"{path}:{line_of(text, 'bpmn:bogus')}: compute: XSD: Element 'bpmn:bogus'"
    )


def test_all_xsd_errors_are_reported_not_only_the_last(project: Path) -> None:
    text = changed(
        DEMO,
        '    <bpmn:endEvent id="end">',
        '    <bpmn:frobnicate id="frob" />\n    <bpmn:endEvent id="end">',
    )
    text = changed(text, "<bpmn:script>quota = 3", "<bpmn:bogus />\n      <bpmn:script>quota = 3")
    _, problems = load_demo(project, text)
    assert [p.element_id for p in problems] == ["compute", "frob"]


# ------------------------------------------------------------------------------------------------
# stage 3: references and SpiffWorkflow's semantic parse


def test_sequence_flow_to_a_missing_element_names_the_flow(project: Path) -> None:
    text = changed(DEMO, 'targetRef="compute"', 'targetRef="computer"')
    path, problems = load_demo(project, text)
    line = line_of(text, 'targetRef="computer"')
    assert locations(problems) == [
        (
            f"{path}:{line}: f_open: sequence flow f_open targets 'computer', "
            "which is not an element of process demo"
        )
    ]


def test_sequence_flow_into_a_sub_process_from_outside_is_refused(project: Path) -> None:
    text = changed(
        DEMO, 'sourceRef="start" targetRef="open_batch"', 'sourceRef="start" targetRef="review_batch"'
    )
    path, problems = load_demo(project, text)
    line = line_of(text, 'sourceRef="start" targetRef="review_batch"')
    assert locations(problems) == [
        (
            f"{path}:{line}: f_start: sequence flow f_start targets 'review_batch', "
            "which is not an element of "
            "process demo (it is inside subProcess review)"
        )
    ]


def test_spiffworkflow_semantic_error_gets_its_line_from_the_element_id(project: Path) -> None:
    text = changed(DEMO, ' default="f_not_enough"', "")
    path, problems = load_demo(project, text)
    line = line_of(text, '<bpmn:sequenceFlow id="f_not_enough"')
    assert locations(problems) == [
        f"{path}:{line}: f_not_enough: Non-default exclusive outgoing sequence flow without condition"
    ]


def test_missing_decision_is_reported_at_the_business_rule_task(project: Path) -> None:
    text = changed(SCORING, ">score_flags<", ">score_flag<")
    folder = make_folder(project, "scoring", {"scoring.bpmn": text, "flags.dmn": FLAGS})
    problems = problems_of(folder, project / "forms")
    line = line_of(text, '<bpmn:businessRuleTask id="score"')
    assert locations(problems) == [
        (
            f"{folder / 'scoring.bpmn'}:{line}: score: "
            "business rule task calls decision 'score_flag', which no "
            ".dmn file in this folder defines (decisions: score_flags)"
        )
    ]


def test_no_top_executable_process(project: Path) -> None:
    text = changed(DEMO, 'isExecutable="true"', 'isExecutable="false"')
    folder = make_folder(project, "demo", {"demo.bpmn": text})
    problem = only(problems_of(folder, project / "forms"))
    assert problem.location().startswith(f"{folder}:: -: no top executable process")


def test_two_top_executable_processes(project: Path) -> None:
    other = MINIMAL.replace('id="minimal"', 'id="other"')
    folder = make_folder(project, "demo", {"demo.bpmn": DEMO, "other.bpmn": other})
    problems = problems_of(folder, project / "forms")
    assert [(Path(p.file).name, p.line, p.element_id) for p in problems[:2]] == [
        ("demo.bpmn", line_of(DEMO, '<bpmn:process id="demo"'), "demo"),
        ("other.bpmn", line_of(other, '<bpmn:process id="other"'), "other"),
    ]
    assert problems[0].message.startswith("more than one top executable process (demo, other)")


# ------------------------------------------------------------------------------------------------
# stage 4: cadreflow's rules


def test_script_syntax_error_is_located_on_the_line_inside_the_script(project: Path) -> None:
    text = changed(DEMO, "total = quota * 2", "total = (quota * 2")
    path, problems = load_demo(project, text)
    problem = only(problems)
    line = line_of(text, "total = (quota * 2")  # the script's second line, one below <bpmn:script>
    assert line == line_of(text, "<bpmn:script>") + 1
    assert problem.location().startswith(f"{path}:{line}: compute: script does not compile: ")
    assert "never closed" in problem.message


def test_condition_syntax_error_is_located(project: Path) -> None:
    text = changed(DEMO, "total &gt; 2", "total &gt;")
    path, problems = load_demo(project, text)
    problem = only(problems)
    assert problem.location().startswith(
        f"{path}:{line_of(text, 'total &gt;<')}: f_enough: "
        "condition of sequence flow f_enough does not compile: "
    )


def test_unquoted_timer_duration_is_refused(project: Path) -> None:
    text = changed(
        DEMO, '<bpmn:timeDuration>"P7D"</bpmn:timeDuration>', "<bpmn:timeDuration>P7D</bpmn:timeDuration>"
    )
    path, problems = load_demo(project, text)
    line = line_of(text, "<bpmn:timeDuration>")
    assert locations(problems) == [
        (
            f"{path}:{line}: wait: [timer-quoted] timer expression P7D is a bare ISO-8601 value; "
            "timer expressions are Python, "
            'so quote it: "P7D" (or use a variable)'
        )
    ]


@pytest.mark.parametrize("bare", ["PT1H", "R3/PT1H", "2025-01-01T09:00:00Z"])
def test_other_bare_timer_values_are_refused(project: Path, bare: str) -> None:
    text = changed(DEMO, '"P7D"</bpmn:timeDuration>', f"{bare}</bpmn:timeDuration>")
    _, problems = load_demo(project, text)
    assert "quote it" in only(problems).message


def test_user_task_in_no_lane_is_refused(project: Path) -> None:
    text = changed(DEMO, "        <bpmn:flowNodeRef>open_batch</bpmn:flowNodeRef>\n", "")
    path, problems = load_demo(project, text)
    problem = only(problems)
    line = line_of(text, '<bpmn:userTask id="open_batch"')
    assert problem.location().startswith(
        f"{path}:{line}: open_batch: [lane-role] user task is not in a lane; "
    )


def test_user_task_in_a_lane_that_is_not_a_role_is_refused(project: Path) -> None:
    text = changed(DEMO, 'name="org_department"', 'name="admin"')
    path, problems = load_demo(project, text)
    assert [(p.line, p.element_id) for p in problems] == [
        (line_of(text, '<bpmn:userTask id="open_batch"'), "open_batch"),
        (line_of(text, '<bpmn:userTask id="review_batch"'), "review_batch"),
    ]
    assert (
        problems[0]
        .location()
        .startswith(
            f"{path}:{problems[0].line}: open_batch: "
            "[lane-role] user task is in lane 'admin', which is not a role that may own tasks"
        )
    )


def test_missing_form_file_is_reported_at_its_property(project: Path) -> None:
    text = changed(DEMO, 'value="open_batch.schema.yaml"', 'value="nope.schema.yaml"')
    path, problems = load_demo(project, text)
    line = line_of(text, "nope.schema.yaml")
    assert locations(problems) == [
        f"{path}:{line}: open_batch: [form-exists] "
        f"form file 'nope.schema.yaml' not found in {project / 'forms'}"
    ]


def test_user_task_without_form_is_refused(project: Path) -> None:
    text = changed(
        DEMO,
        '          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.yaml" />\n',
        "",
    )
    path, problems = load_demo(project, text)
    line = line_of(text, '<bpmn:userTask id="review_batch"')
    assert (
        only(problems)
        .location()
        .startswith(
            f"{path}:{line}: review_batch: [form-exists] user task has no formJsonSchemaFilename property"
        )
    )


def test_form_path_traversal_is_refused(project: Path) -> None:
    text = changed(DEMO, 'value="open_batch.schema.yaml"', 'value="../../etc/passwd.yaml"')
    path, problems = load_demo(project, text)
    assert only(problems).location() == (
        f"{path}:{line_of(text, 'passwd')}: open_batch: "
        "[form-exists] formJsonSchemaFilename '../../etc/passwd.yaml' must be "
        "a plain file name in forms/, not a path"
    )


def test_form_yaml_syntax_error_is_located_in_the_form(project: Path) -> None:
    form = project / "forms" / "open_batch.schema.yaml"
    form.write_text("type: object\nproperties:\n  year: type: integer\n", encoding="utf-8")
    _, problems = load_demo(project)
    assert locations(problems) == [f"{form}:3: -: YAML syntax error: mapping values are not allowed here"]


def test_form_that_is_not_a_json_schema_is_located(project: Path) -> None:
    form = project / "forms" / "open_batch.schema.yaml"
    form.write_text("type: object\nproperties:\n  year:\n    type: integr\n", encoding="utf-8")
    _, problems = load_demo(project)
    assert only(problems).location().startswith(f"{form}:4: -: invalid JSON Schema at properties/year/type: ")


def test_due_in_must_be_an_iso_duration(project: Path) -> None:
    text = changed(DEMO, 'value="P7D"', 'value="7 days"')
    path, problems = load_demo(project, text)
    assert locations(problems) == [
        (
            f"{path}:{line_of(text, '7 days')}: open_batch: dueIn '7 days' is not an ISO-8601 duration "
            "(e.g. P7D, PT48H, P1M)"
        )
    ]


def test_dmn_cell_syntax_error_is_located(project: Path) -> None:
    dmn = changed(FLAGS, '<text>"over_age"</text>', '<text>"over_age</text>')
    folder = make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": dmn})
    problems = problems_of(folder, project / "forms")
    line = line_of(dmn, '"over_age<')
    assert (
        only(problems)
        .location()
        .startswith(
            f"{folder / 'flags.dmn'}:{line}: rule_over_age_out: output entry '\"over_age' does not compile: "
        )
    )


def test_dmn_input_entry_syntax_error_is_located(project: Path) -> None:
    dmn = changed(FLAGS, "<text>&gt; 35</text>", "<text>&gt; &gt; 35</text>")
    folder = make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": dmn})
    problems = problems_of(folder, project / "forms")
    line = line_of(dmn, "&gt; &gt; 35")
    assert (
        only(problems)
        .location()
        .startswith(
            f"{folder / 'flags.dmn'}:{line}: rule_over_age_in: input entry '> > 35' does not compile: "
        )
    )


@pytest.mark.parametrize("entry", ['"a"', "&lt; 3", "-", "", "5", " in (35, 40)", "? &gt; 30"])
def test_dmn_input_entries_accepted_like_spiffworkflow(project: Path, entry: str) -> None:
    dmn = changed(FLAGS, "<text>&gt; 35</text>", f"<text>{entry}</text>")
    folder = make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": dmn})
    assert load_process_folder(folder, project / "forms").process_id == "scoring"


def test_every_problem_is_reported_in_one_pass(project: Path) -> None:
    text = changed(DEMO, "total = quota * 2", "total = (quota * 2")
    text = changed(text, '"P7D"</bpmn:timeDuration>', "P7D</bpmn:timeDuration>")
    text = changed(text, 'value="open_batch.schema.yaml"', 'value="nope.schema.yaml"')
    text = changed(text, 'value="P7D"', 'value="soon"')
    _, problems = load_demo(project, text)
    assert sorted(p.line or 0 for p in problems) == sorted(
        [
            line_of(text, "nope.schema.yaml"),
            line_of(text, 'value="soon"'),
            line_of(text, "total = (quota * 2"),
            line_of(text, "<bpmn:timeDuration>"),
        ]
    )


def test_validate_paths_collects_problems_from_several_folders(project: Path) -> None:
    make_folder(project, "demo", {"demo.bpmn": changed(DEMO, 'name="org_department"', 'name="public"')})
    make_folder(
        project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": changed(FLAGS, "COLLECT", "RULE ORDER")}
    )
    problems = validate_paths([project / "processes"])
    assert sorted({(Path(p.file).name, p.element_id) for p in problems}) == [
        ("demo.bpmn", "open_batch"),
        ("demo.bpmn", "review_batch"),
        ("flags.dmn", "flags_table"),
    ]
    missing = validate_paths([project / "processes" / "nowhere"])
    assert locations(missing) == [f"{project / 'processes' / 'nowhere'}:: -: no such file or folder"]


def test_validate_paths_without_a_processes_folder_asks_for_forms_dir(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "demo.bpmn").write_text(DEMO, encoding="utf-8")
    problem = only(validate_paths([folder]))
    assert problem.location().startswith(f"{folder}:: -: cannot find the forms folder")
    assert validate_paths([folder], forms_dir=FIXTURES / "forms") == []


def test_parse_specs_reports_broken_content_as_definition_errors() -> None:
    with pytest.raises(DefinitionErrors) as info:
        parse_specs({"processes/x/x.bpmn": b"<bpmn:definitions"})
    assert info.value.problems[0].location().startswith("processes/x/x.bpmn:1: -: malformed XML: ")


def test_condition_on_a_flow_leaving_a_task_is_refused_because_spiffworkflow_ignores_it(
    project: Path,
) -> None:
    text = changed(
        DEMO,
        '<bpmn:sequenceFlow id="f_open" sourceRef="open_batch" targetRef="compute" />',
        '<bpmn:sequenceFlow id="f_open" sourceRef="open_batch" targetRef="compute">\n'
        "      <bpmn:conditionExpression>quota &gt; 1</bpmn:conditionExpression>\n"
        "    </bpmn:sequenceFlow>",
    )
    path, problems = load_demo(project, text)
    assert locations(problems) == [
        (
            f"{path}:{line_of(text, 'quota &gt; 1')}: f_open: "
            "condition on a sequence flow leaving a userTask is "
            "ignored by SpiffWorkflow; branch with an exclusive or inclusive gateway"
        )
    ]


def test_dmn_schema_error_is_located(project: Path) -> None:
    dmn = changed(FLAGS, '      <output id="out_flag"', '      <bogus />\n      <output id="out_flag"')
    folder = make_folder(project, "scoring", {"scoring.bpmn": SCORING, "flags.dmn": dmn})
    problem = only(problems_of(folder, project / "forms"))
    assert problem.location().startswith(
        f"{folder / 'flags.dmn'}:{line_of(dmn, '<bogus />')}: flags_table: XSD: Element 'dmn:bogus': "
    )


def test_a_message_started_event_sub_process_is_refused_at_its_start_event(project: Path) -> None:
    """SpiffWorkflow 3.2.0 rewires the shared spec when one is triggered: refused with a way out."""
    event_sub = """
    <bpmn:subProcess id="on_message" triggeredByEvent="true">
      <bpmn:startEvent id="on_message_start">
        <bpmn:messageEventDefinition id="on_message_def" />
      </bpmn:startEvent>
    </bpmn:subProcess>
    <bpmn:endEvent id="end">"""
    folder = make_folder(
        project, "demo", {"demo.bpmn": DEMO.replace('<bpmn:endEvent id="end">', event_sub, 1)}
    )
    problems = validate_paths([folder])
    found = [p for p in problems if p.element_id == "on_message_start"]
    assert found and "event sub-processes are not supported" in found[0].message
    assert found[0].line == line_of(
        (folder / "demo.bpmn").read_text(), '<bpmn:startEvent id="on_message_start">'
    )
