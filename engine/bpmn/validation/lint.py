"""Stage 4 of validation: lint rules over each process's flow graph (``loop-bound``, ``read-before-write``).

Both rules look at what each flow node *writes* into the case data:

* a script (and any pre/post script): the names it assigns, except ``tmp_`` names (script-local);
* a user task: the top-level properties of its form, and its ``formDataKey``;
* a business rule task: the output names of the decision it calls;
* a message catch: its ``messageVariable``;
* a multi-instance activity: its output collection and data items;
* a sub-process: everything written inside it; a call activity or a message catch without a
  variable: anything (what comes back is not known here, so nothing after it is reported).

``read-before-write``: a condition on a sequence flow may only read variables that some path from
the start writes before the gateway (a *may* analysis: a variable written on one branch only is not
reported — the rule catches names nothing writes upstream, typically typos and reordered tasks).

``loop-bound``: every cycle of sequence flows needs a way out, and a way out that can open: some
branching condition in the cycle must read a variable written inside the cycle, or the cycle must
wait for time or a message, so that going round again can change the outcome. A standard loop needs
``loopMaximum`` or a ``loopCondition``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.validation.forms import FormCache
from engine.bpmn.validation.problems import NS, Doc, Problems, bpmn_tag, lname
from engine.bpmn.validation.rules import LOOP_BOUND, READ_BEFORE_WRITE

ANYTHING = "*"  # written by a node whose writes are not known here (suppresses reports after it)
_LOCAL_PREFIX = "tmp_"
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
_WAITS_FOR_EVENT = frozenset({"receiveTask", "intermediateCatchEvent", "eventBasedGateway"})


@dataclass
class _Graph:
    """One process or sub-process: its flow nodes, flows and the conditions on them."""

    container: Any
    nodes: dict[str, Any] = field(default_factory=dict)
    succ: dict[str, list[str]] = field(default_factory=dict)
    pred: dict[str, list[str]] = field(default_factory=dict)
    flows: list[Any] = field(default_factory=list)


def _names_assigned(source: str | None) -> set[str]:
    try:
        tree = ast.parse(source or "", mode="exec")
    except SyntaxError:
        return {ANYTHING}  # reported by the compile check; do not add follow-on noise
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and not n.id.startswith(_LOCAL_PREFIX)
    }


def names_read(source: str | None) -> set[str]:
    """Free variable names an expression reads (not builtins, helpers or names it binds itself)."""
    from engine.bpmn.sandbox import PREDEFINED_NAMES

    try:
        tree = ast.parse((source or "").strip(), mode="eval")
    except SyntaxError:
        return set()
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loads - bound - PREDEFINED_NAMES - {"True", "False", "None"}


def _decision_outputs(docs: Iterable[Doc]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for doc in docs:
        if doc.kind != "dmn" or doc.root is None:
            continue
        for decision in doc.root.iter():
            if isinstance(decision.tag, str) and lname(decision) == "decision":
                names = {
                    str(o.get("name") or o.get("label"))
                    for o in decision.iter()
                    if isinstance(o.tag, str) and lname(o) == "output" and (o.get("name") or o.get("label"))
                }
                out[str(decision.get("id"))] = names
    return out


class _Writes:
    """What each flow node writes (see the module docstring), computed once per node."""

    def __init__(self, docs: Iterable[Doc], forms: FormCache) -> None:
        self.decisions = _decision_outputs(docs)
        self.forms = forms
        self._memo: dict[int, set[str]] = {}

    def of(self, el: Any) -> set[str]:
        key = id(el)
        if key not in self._memo:
            self._memo[key] = self._compute(el)
        return self._memo[key]

    def _compute(self, el: Any) -> set[str]:
        kind = lname(el)
        written: set[str] = set()
        for tag in ("preScript", "postScript"):
            for script in el.findall(f"bpmn:extensionElements/spiffworkflow:{tag}", NS):
                written |= _names_assigned(script.text)
        if kind == "scriptTask":
            for script in el.findall("bpmn:script", NS):
                written |= _names_assigned(script.text)
        elif kind == "userTask":
            written |= self._form_fields(el)
        elif kind == "businessRuleTask":
            called = el.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, NS)
            written |= self.decisions.get((called or "").strip(), {ANYTHING})
        elif kind == "callActivity":
            written.add(ANYTHING)
        elif kind in _CONTAINERS:
            for child in el:
                if isinstance(child.tag, str) and lname(child) in _FLOW_NODES:
                    written |= self.of(child)
        for definition in el.findall("bpmn:messageEventDefinition", NS):
            variable = definition.findtext("bpmn:extensionElements/spiffworkflow:messageVariable", None, NS)
            written.add(variable.strip() if variable and variable.strip() else ANYTHING)
        if kind == "receiveTask":
            variable = el.findtext("bpmn:extensionElements/spiffworkflow:messageVariable", None, NS)
            written.add(variable.strip() if variable and variable.strip() else ANYTHING)
        loop = el.find("bpmn:multiInstanceLoopCharacteristics", NS)
        if loop is not None:
            for ref in ("loopDataOutputRef", "loopDataInputRef"):
                text = loop.findtext(f"bpmn:{ref}", None, NS)
                if text and text.strip():
                    written.add(text.strip())
            for item in ("inputDataItem", "outputDataItem"):
                data_item = loop.find(f"bpmn:{item}", NS)
                if data_item is not None:
                    written.add(str(data_item.get("name") or data_item.get("id")))
        return written

    def _form_fields(self, task: Any) -> set[str]:
        fields: set[str] = set()
        for prop in task.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
        ):
            name, value = prop.get("name"), prop.get("value")
            if name == "formDataKey" and value:
                fields.add(value)
            if name == "formJsonSchemaFilename" and value:
                schema = self.forms.loaded.get(value, (None, None))[0]
                if not isinstance(schema, dict):
                    return {ANYTHING}  # the missing form is reported by form-exists
                fields |= set((schema.get("properties") or {}).keys())
        return fields


def _graphs(doc: Doc) -> list[_Graph]:
    graphs = []
    for container in doc.root.iter():
        if not isinstance(container.tag, str) or lname(container) not in _CONTAINERS:
            continue
        graph = _Graph(container)
        for child in container:
            if isinstance(child.tag, str) and lname(child) in _FLOW_NODES and child.get("id"):
                graph.nodes[str(child.get("id"))] = child
                graph.succ.setdefault(str(child.get("id")), [])
                graph.pred.setdefault(str(child.get("id")), [])
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            src, dst = flow.get("sourceRef"), flow.get("targetRef")
            if src in graph.nodes and dst in graph.nodes:
                graph.succ[src].append(dst)
                graph.pred[dst].append(src)
                graph.flows.append(flow)
        _link_events(graph)
        graphs.append(graph)
    return graphs


def _link_events(graph: _Graph) -> None:
    """A link throw event goes on at the link catch event of the same name: an edge like a flow."""
    throws: dict[str, list[str]] = {}
    catches: dict[str, list[str]] = {}
    for nid, el in graph.nodes.items():
        link = el.find("bpmn:linkEventDefinition", NS)
        if link is not None:
            side = catches if lname(el) == "intermediateCatchEvent" else throws
            side.setdefault(str(link.get("name") or ""), []).append(nid)
    for name, sources in throws.items():
        for source in sources:
            for target in catches.get(name, []):
                graph.succ[source].append(target)
                graph.pred[target].append(source)


def _available_before(graph: _Graph, writes: _Writes, entry: set[str]) -> dict[str, set[str]]:
    """For each node, the variables some path from the container's start writes before it."""
    before: dict[str, set[str]] = {nid: set() for nid in graph.nodes}
    for nid, el in graph.nodes.items():
        if not graph.pred[nid] and lname(el) != "boundaryEvent":
            before[nid] = set(entry)
    changed = True
    while changed:
        changed = False
        for nid, el in graph.nodes.items():
            incoming = set(before[nid])
            for p in graph.pred[nid]:
                incoming |= before[p] | writes.of(graph.nodes[p])
            if lname(el) == "boundaryEvent":
                attached = el.get("attachedToRef")
                if attached in before:
                    incoming |= before[attached]
            if incoming != before[nid]:
                before[nid] = incoming
                changed = True
    return before


def _check_reads(doc: Doc, graphs: list[_Graph], writes: _Writes, problems: Problems) -> None:
    entry_of: dict[int, set[str]] = {}
    for graph in graphs:  # document order: a sub-process comes after the process holding it
        entry = entry_of.get(id(graph.container), {"cycle"})  # every case's data starts with its cycle
        before = _available_before(graph, writes, entry)
        for nid, el in graph.nodes.items():
            if lname(el) in _CONTAINERS:
                # An event sub-process may start at any point of its parent: anything may be written.
                triggered = el.get("triggeredByEvent") == "true"
                entry_of[id(el)] = {ANYTHING} if triggered else before[nid]
        for flow in graph.flows:
            cond = flow.find("bpmn:conditionExpression", NS)
            if cond is None:
                continue
            known = before[flow.get("sourceRef")] | writes.of(graph.nodes[flow.get("sourceRef")])
            if ANYTHING in known:
                continue
            missing = sorted(names_read(cond.text) - known)
            if missing:
                problems.at(
                    doc,
                    flow,
                    f"the condition reads {', '.join(missing)}, which no form, script or decision "
                    f"writes before {flow.get('sourceRef')}",
                    rule=READ_BEFORE_WRITE,
                )


def _cycles(graph: _Graph) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan), in document order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(root: str) -> None:
        work = [(root, iter(graph.succ[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.succ[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.succ[node]:
                    found.append(component)

    for nid in graph.nodes:
        if nid not in index:
            visit(nid)
    order = list(graph.nodes)
    return [sorted(c, key=order.index) for c in sorted(found, key=lambda c: min(order.index(n) for n in c))]


def _terminates(graph: _Graph) -> bool:
    return any(
        lname(el) == "endEvent" and el.find("bpmn:terminateEventDefinition", NS) is not None
        for el in graph.nodes.values()
    )


def _check_loops(doc: Doc, graphs: list[_Graph], writes: _Writes, problems: Problems) -> None:
    for graph in graphs:
        boundary_on = {
            str(el.get("attachedToRef")) for el in graph.nodes.values() if lname(el) == "boundaryEvent"
        }
        for cycle in _cycles(graph):
            members = set(cycle)
            shown = " -> ".join(cycle[:6]) + (" ..." if len(cycle) > 6 else "")
            exits = [
                f for f in graph.flows if f.get("sourceRef") in members and f.get("targetRef") not in members
            ]
            where = next(
                (graph.nodes[n] for n in cycle if "Gateway" in lname(graph.nodes[n])), graph.nodes[cycle[0]]
            )
            waits = any(lname(graph.nodes[n]) in _WAITS_FOR_EVENT for n in cycle)
            if not exits and not (members & boundary_on):
                if waits and _terminates(graph):
                    continue  # waits for events each round until a terminate end event ends it all
                problems.at(doc, where, f"the loop {shown} has no way out", rule=LOOP_BOUND)
                continue
            if waits:
                continue  # it waits for time or a message each round: outside events end it
            written: set[str] = set()
            for n in cycle:
                written |= writes.of(graph.nodes[n])
            if ANYTHING in written or members & boundary_on:
                continue
            read: set[str] = set()
            for flow in graph.flows:
                cond = flow.find("bpmn:conditionExpression", NS)
                if flow.get("sourceRef") in members and cond is not None:
                    read |= names_read(cond.text)
            if not read & written:
                what = f"its conditions read {', '.join(sorted(read))}" if read else "no condition decides it"
                problems.at(
                    doc,
                    where,
                    f"the loop {shown} has no bound: {what}, and nothing inside the loop changes "
                    "that, so it would go round for ever",
                    rule=LOOP_BOUND,
                )


def _check_standard_loops(doc: Doc, problems: Problems) -> None:
    for loop in doc.root.iter(bpmn_tag("standardLoopCharacteristics")):
        if loop.get("loopMaximum") is None and loop.find("bpmn:loopCondition", NS) is None:
            problems.at(
                doc,
                loop.getparent(),
                "a standard loop needs loopMaximum or a loopCondition, or it repeats for ever",
                rule=LOOP_BOUND,
            )


def check_flow_rules(doc: Doc, docs: list[Doc], forms: FormCache, problems: Problems) -> None:
    """Check the ``loop-bound`` and ``read-before-write`` rules of one BPMN file."""
    writes = _Writes(docs, forms)
    graphs = _graphs(doc)
    _check_reads(doc, graphs, writes, problems)
    _check_loops(doc, graphs, writes, problems)
    _check_standard_loops(doc, problems)
