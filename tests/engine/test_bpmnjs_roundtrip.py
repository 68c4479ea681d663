"""The reserve selection diagram renders in bpmn-js and survives its import/export unchanged in meaning.

bpmn-js reads and writes XML with bpmn-moddle; ``tools/bpmnjs_roundtrip/roundtrip.mjs`` runs exactly that
import/export under Node (no browser). ``engine.bpmn.semantic`` compares the file before and after while
ignoring what a re-serialisation is allowed to change (CDATA, escaping, attribute order, prefixes,
indentation, ``1.0`` vs ``1``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from engine.bpmn.loader import validate_paths
from engine.bpmn.semantic import semantic_diff, semantic_model

ROOT = Path(__file__).resolve().parents[2]
PROCESS_DIR = ROOT / "processes" / "reserve_selection"
BPMN_FILE = PROCESS_DIR / "reserve_selection.bpmn"
TOOL_DIR = ROOT / "tools" / "bpmnjs_roundtrip"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
NS = {
    "bpmn": BPMN_NS,
    "bpmndi": BPMNDI_NS,
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

# What bpmn-js draws as a shape or an edge: it skips any of these that has no DI.
FLOW_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "scriptTask", "serviceTask", "manualTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}  # fmt: skip
SHAPED = FLOW_NODES | {"lane", "participant", "dataObjectReference", "dataStoreReference", "textAnnotation"}
EDGED = {"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"}


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser)


# ------------------------------------------------------------------------------------------------
# DI completeness


def test_every_element_has_di() -> None:
    root = _parse(BPMN_FILE.read_bytes())
    drawn: dict[str, list[etree._Element]] = {}
    for di in root.iterfind(".//bpmndi:BPMNPlane//*[@bpmnElement]", NS):
        drawn.setdefault(di.get("bpmnElement"), []).append(di)

    problems = []
    needed: set[str] = set()
    for el in root.iter(f"{{{BPMN_NS}}}*"):
        local = etree.QName(el).localname
        if local not in SHAPED | EDGED:
            continue
        el_id = el.get("id")
        if el_id is None:
            problems.append(f"line {el.sourceline}: bpmn:{local} without an id cannot be drawn")
            continue
        needed.add(el_id)
        want = "BPMNShape" if local in SHAPED else "BPMNEdge"
        found = drawn.get(el_id, [])
        if not found:
            problems.append(f"{el_id} (bpmn:{local}): no bpmndi:{want}")
            continue
        if len(found) > 1:
            problems.append(f"{el_id}: drawn {len(found)} times")
        di = found[0]
        if etree.QName(di).localname != want:
            problems.append(f"{el_id} (bpmn:{local}): drawn by a {etree.QName(di).localname}, not a {want}")
        elif want == "BPMNShape":
            bounds = di.find("dc:Bounds", NS)
            if bounds is None or any(bounds.get(k) is None for k in ("x", "y", "width", "height")):
                problems.append(f"{el_id}: BPMNShape without complete dc:Bounds")
            elif float(bounds.get("width")) <= 0 or float(bounds.get("height")) <= 0:
                problems.append(f"{el_id}: BPMNShape with an empty size")
        elif len(di.findall("di:waypoint", NS)) < 2:
            problems.append(f"{el_id}: BPMNEdge with fewer than two waypoints")

    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for target, dis in drawn.items():
        if target not in ids:
            problems.append(f"{dis[0].get('id')}: draws {target}, which does not exist")

    planes = root.findall(".//bpmndi:BPMNPlane", NS)
    assert planes, "no bpmndi:BPMNPlane: the diagram has no DI at all"
    top = [p.get("bpmnElement") for p in planes]
    collaboration = root.find("bpmn:collaboration", NS)
    expected_plane = (
        collaboration.get("id") if collaboration is not None else root.find("bpmn:process", NS).get("id")
    )
    assert expected_plane in top, f"no BPMNPlane for {expected_plane} (planes draw {top})"
    assert len(needed) > 40, "the diagram is expected to hold the whole selection process"
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------------
# bpmn-js (bpmn-moddle) round trip


def _tool_ready() -> str:
    """Return the node executable, installing the tool's locked dependencies when they are missing."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed, but the bpmn-js round trip must run under CI")
        pytest.skip("node is not installed: cannot run the bpmn-js (bpmn-moddle) round trip")
    if not (TOOL_DIR / "node_modules" / "bpmn-moddle" / "package.json").is_file():
        npm = shutil.which("npm") or ("/usr/bin/npm" if Path("/usr/bin/npm").is_file() else None)
        if npm is None:
            pytest.fail("node is installed but npm is not: cannot install tools/bpmnjs_roundtrip")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=TOOL_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"npm ci failed in {TOOL_DIR}:\n{result.stdout}\n{result.stderr}"
    return node


def _roundtrip(node: str, path: Path, *flags: str) -> tuple[bytes, list[dict[str, str]], int]:
    result = subprocess.run(
        [node, str(TOOL_DIR / "roundtrip.mjs"), str(path), *flags],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 2), (
        f"roundtrip.mjs failed ({result.returncode}): {result.stderr.decode()}"
    )
    warnings = json.loads(result.stderr) if result.returncode == 2 else []
    return result.stdout, warnings, result.returncode


@pytest.mark.parametrize("mode", ["typed", "untyped"])
def test_bpmnjs_roundtrip_changes_nothing_semantically(mode: str, tmp_path: Path) -> None:
    """typed: with the spiffworkflow moddle descriptor (as a SpiffWorkflow-aware modeler loads it);
    untyped: plain bpmn-js, which keeps the spiffworkflow elements as generic extension elements."""
    node = _tool_ready()
    original = BPMN_FILE.read_bytes()
    exported, warnings, code = _roundtrip(node, BPMN_FILE, *(["--untyped"] if mode == "untyped" else []))

    differences = semantic_diff(semantic_model(original), semantic_model(exported))
    report = [
        f"bpmn-moddle warning: {w['message']} at {w.get('element')} {w.get('property') or ''}"
        for w in warnings
    ]
    assert not differences and code == 0, "\n".join(report + differences)

    folder = tmp_path / "reserve_selection"
    shutil.copytree(PROCESS_DIR, folder)
    (folder / BPMN_FILE.name).write_bytes(exported)
    errors = validate_paths([folder], forms_dir=ROOT / "forms")
    assert errors == [], "\n".join(str(e) for e in errors)


def test_roundtrip_tool_reports_what_bpmn_moddle_drops(tmp_path: Path) -> None:
    """The tool itself can fail: an unresolvable reference is dropped by bpmn-moddle, reported, exit 2."""
    node = _tool_ready()
    source = tmp_path / "dangling.bpmn"
    source.write_bytes(DANGLING)
    exported, warnings, code = _roundtrip(node, source)
    assert code == 2
    assert [w["message"] for w in warnings] == ["unresolved reference <items>"]
    assert warnings[0]["element"] == "each"
    differences = semantic_diff(semantic_model(DANGLING), semantic_model(exported))
    assert differences == [
        "element each: lost <bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef> 'items'"
    ]


@pytest.mark.parametrize("mode", ["typed", "untyped"])
def test_roundtrip_rewrites_cdata_and_layout_without_changing_meaning(mode: str, tmp_path: Path) -> None:
    node = _tool_ready()
    source = tmp_path / "formatted.bpmn"
    source.write_bytes(FORMATTED)
    exported, warnings, code = _roundtrip(node, source, *(["--untyped"] if mode == "untyped" else []))
    assert (code, warnings) == (0, [])
    assert b"CDATA" not in exported and b"x = y &amp; z" in exported and b"<!--" not in exported
    assert semantic_diff(semantic_model(FORMATTED), semantic_model(exported)) == []


DANGLING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:userTask id="each">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>
"""


# ------------------------------------------------------------------------------------------------
# The comparison itself


def test_semantic_diff_reports_changed_condition_and_moved_shape() -> None:
    original = BPMN_FILE.read_bytes()
    root = _parse(original)
    condition = root.find(".//bpmn:sequenceFlow/bpmn:conditionExpression", NS)
    flow_id = condition.getparent().get("id")
    old_condition = condition.text
    condition.text = f"not ({old_condition})"
    shape = root.find(".//bpmndi:BPMNShape", NS)
    bounds = shape.find("dc:Bounds", NS)
    bounds.set("x", str(float(bounds.get("x")) + 40))
    changed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    differences = semantic_diff(semantic_model(original), semantic_model(changed))
    assert len(differences) == 3, differences
    lost = [d for d in differences if d.startswith(f"element {flow_id}: lost <bpmn:conditionExpression")]
    gained = [d for d in differences if d.startswith(f"element {flow_id}: gained <bpmn:conditionExpression")]
    assert len(lost) == 1 and old_condition.strip()[:20] in lost[0]
    assert len(gained) == 1 and "not (" in gained[0]
    moved = [
        d for d in differences if d.startswith(f"diagram BPMNShape for {shape.get('bpmnElement')}: bounds")
    ]
    assert len(moved) == 1, differences


def test_semantic_diff_reports_moved_waypoint_lane_and_flow_changes() -> None:
    original = BPMN_FILE.read_bytes()
    root = _parse(original)
    waypoint = root.find(".//bpmndi:BPMNEdge/di:waypoint", NS)
    edge_target = waypoint.getparent().get("bpmnElement")
    waypoint.set("y", str(float(waypoint.get("y")) + 5))
    lane = root.find(".//bpmn:lane", NS)
    lane.remove(lane.find("bpmn:flowNodeRef", NS))
    flow = root.find(".//bpmn:sequenceFlow", NS)
    flow.set("targetRef", "somewhere_else")
    changed = etree.tostring(root)

    differences = semantic_diff(semantic_model(original), semantic_model(changed))
    assert any(d.startswith(f"diagram BPMNEdge for {edge_target}: waypoints changed") for d in differences)
    assert any(d.startswith(f"lane {lane.get('id')}: no longer holds") for d in differences)
    assert any(d.startswith(f"flow {flow.get('id')}:") and "somewhere_else" in d for d in differences)


FORMATTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://x">
  <!-- a comment -->
  <bpmn:process id="p" isExecutable="true">
    <bpmn:scriptTask id="t" name="Score">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="dueIn" value="P1D" />
        </spiffworkflow:properties>
        <spiffworkflow:preScript>
          <![CDATA[a = 1 if b < c else 2]]>
        </spiffworkflow:preScript>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script><![CDATA[x = y & z]]></bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">x &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dg">
    <bpmndi:BPMNPlane id="pl" bpmnElement="p">
      <bpmndi:BPMNShape id="t_di" bpmnElement="t">
        <dc:Bounds x="1.0" y="2" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="1" y="2" /><di:waypoint x="3.50" y="4" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

# The same document: default namespace, other prefixes, attribute order, escaping, element order, layout.
REFORMATTED = b"""<?xml version='1.0' encoding='utf-8'?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
 xmlns:x="http://www.w3.org/2001/XMLSchema-instance" xmlns:sw="http://spiffworkflow.org/bpmn/schema/1.0/core"
 targetNamespace="http://x" id="d"><process isExecutable="true" id="p"><scriptTask name="Score" id="t">
<outgoing>f1</outgoing>
<script>x = y &amp; z</script><extensionElements><sw:properties
><sw:property value="P1D" name="dueIn"/></sw:properties><sw:preScript
>a = 1 if b &lt; c else 2</sw:preScript></extensionElements>
</scriptTask><sequenceFlow targetRef="e" sourceRef="t" id="f1"><conditionExpression
 x:type="tFormalExpression">x &gt; 1</conditionExpression></sequenceFlow>
<endEvent id="e"><incoming>f1</incoming></endEvent></process>
<d:BPMNDiagram xmlns:d="http://www.omg.org/spec/BPMN/20100524/DI" id="dg">
<d:BPMNPlane bpmnElement="p" id="pl"><d:BPMNShape bpmnElement="t" id="t_di"><o:Bounds
 xmlns:o="http://www.omg.org/spec/DD/20100524/DC" width="100" height="80" x="1" y="2.0"/></d:BPMNShape>
<d:BPMNEdge bpmnElement="f1" id="f1_di"><w:waypoint xmlns:w="http://www.omg.org/spec/DD/20100524/DI"
 x="1" y="2"/><w:waypoint xmlns:w="http://www.omg.org/spec/DD/20100524/DI" x="3.5" y="4"/></d:BPMNEdge>
</d:BPMNPlane></d:BPMNDiagram></definitions>"""


def test_semantic_model_ignores_formatting() -> None:
    assert semantic_diff(semantic_model(FORMATTED), semantic_model(REFORMATTED)) == []
    model = semantic_model(FORMATTED)
    task = model["elements"]["t"]
    spiff = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
    assert (((f"{spiff}preScript",), (), "a = 1 if b < c else 2")) in task["extensions"]
    assert task["children"][((f"{{{BPMN_NS}}}script",), (), "x = y & z")] == 1
    assert model["flows"]["f1"] == ("t", "e")
    condition = next(
        k for k in model["elements"]["f1"]["children"] if k[0][-1].endswith("conditionExpression")
    )
    assert condition[1] == (
        ("{http://www.w3.org/2001/XMLSchema-instance}type", f"{{{BPMN_NS}}}tFormalExpression"),
    )
    assert model["di"]["t"]["bounds"] == (1.0, 2.0, 100.0, 80.0)
    assert model["di"]["f1"]["waypoints"] == [(1.0, 2.0), (3.5, 4.0)]


def test_semantic_model_sees_reordered_extensions_and_swapped_waypoints() -> None:
    swapped = FORMATTED.replace(
        b'x="1" y="2" /><di:waypoint x="3.50" y="4"', b'x="3.50" y="4" /><di:waypoint x="1" y="2"'
    )
    assert swapped != FORMATTED
    differences = semantic_diff(semantic_model(FORMATTED), semantic_model(swapped))
    assert differences == [
        "diagram BPMNEdge for f1: waypoints changed [(1.0, 2.0), (3.5, 4.0)] -> [(3.5, 4.0), (1.0, 2.0)]"
    ]

    root = _parse(FORMATTED)
    extensions = root.find(".//bpmn:extensionElements", NS)
    extensions.append(extensions[0])  # properties after preScript now
    differences = semantic_diff(semantic_model(FORMATTED), semantic_model(etree.tostring(root)))
    assert differences == ["element t: extensionElements reordered"]

    extensions[0].text = "a = 2"
    differences = semantic_diff(semantic_model(FORMATTED), semantic_model(etree.tostring(root)))
    assert differences == [
        "element t: extensionElements lost <spiffworkflow:preScript> 'a = 1 if b < c else 2'",
        "element t: extensionElements gained <spiffworkflow:preScript> 'a = 2'",
    ]


def test_semantic_model_refuses_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'
    with pytest.raises(ValueError, match="DOCTYPE"):
        semantic_model(bomb)
    with pytest.raises(ValueError, match="malformed"):
        semantic_model(b"<definitions")
