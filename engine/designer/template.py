"""The files of a new process: the smallest process that validates, runs and has a passing test.

Start, one user task (``review``) in the ``org_department`` lane with its form, end; drawn (with DI),
so the modeler opens it laid out. The designer renames and extends from there.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from engine.designer.files import Files, process_dir

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="{pid}_definitions" \
targetNamespace="http://cadreflow.example/bpmn" exporter="cadreflow" exporterVersion="1">
  <bpmn:collaboration id="{pid}_collaboration">
    <bpmn:participant id="{pid}_participant" name={name} processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name={name} isExecutable="true">
    <bpmn:laneSet id="{pid}_lanes">
      <bpmn:lane id="lane_org_department" name="org_department">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Start / 开始">
      <bpmn:outgoing>flow_start_to_review</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="review" name="Review / 审核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />
          <spiffworkflow:property name="dueIn" value="P7D" />
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>Review and decide. / 审核并作出决定。\
</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_start_to_review</bpmn:incoming>
      <bpmn:outgoing>flow_review_to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="Done / 完成">
      <bpmn:incoming>flow_review_to_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_to_review" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="flow_review_to_end" sourceRef="review" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="{pid}_diagram">
    <bpmndi:BPMNPlane id="{pid}_plane" bpmnElement="{pid}_collaboration">
      <bpmndi:BPMNShape id="{pid}_participant_di" bpmnElement="{pid}_participant" isHorizontal="true">
        <dc:Bounds x="120" y="60" width="520" height="180" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_org_department_di" bpmnElement="lane_org_department" isHorizontal="true">
        <dc:Bounds x="150" y="60" width="490" height="180" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="202" y="132" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review">
        <dc:Bounds x="320" y="110" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="532" y="132" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_to_review_di" bpmnElement="flow_start_to_review">
        <di:waypoint x="238" y="150" />
        <di:waypoint x="320" y="150" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_review_to_end_di" bpmnElement="flow_review_to_end">
        <di:waypoint x="420" y="150" />
        <di:waypoint x="532" y="150" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

_FORM = """$schema: https://json-schema.org/draft/2020-12/schema
title: Review / 审核
type: object
additionalProperties: false
required: [decision]
properties:
  decision:
    title: Decision / 决定
    enum: [approve, reject]
    x-enum-labels: {{approve: Approve / 同意, reject: Reject / 不同意}}
  comment: {{type: string, maxLength: 2000, title: Comment / 意见}}
"""

_TEST = """name: review - the organization department approves and the case ends
process: {pid}
users:
  li: {{roles: [org_department]}}
steps:
  - start: {{as: li}}
  - expect: {{ready: [review], finished: false}}
  - complete: {{task: review, as: li, data: {{decision: approve}}}}
  - expect: {{ready: [], finished: true, data: {{decision: approve}}}}
"""


def template_files(process_id: str, name: str) -> Files:
    """The file set of a new process ``process_id`` labelled ``name``."""
    form = f"{process_id}_review.schema.yaml"
    folder = process_dir(process_id)
    return {
        f"{folder}/{process_id}.bpmn": _BPMN.format(pid=process_id, name=quoteattr(name), form=form),
        f"forms/{form}": _FORM.format(),
        f"{folder}/tests/review.test.yaml": _TEST.format(pid=process_id),
    }
