"""Tests for the script sandbox: refusals, the step budget, task-data write-back, helpers, and
end-to-end runs through real SpiffWorkflow BPMN and DMN parsing."""

from __future__ import annotations

import copy
import sys
import threading
from fractions import Fraction
from types import FrameType
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import sandbox
from engine.bpmn.sandbox import (
    SandboxEnvironment,
    SandboxScriptEngine,
    age_on,
    compile_check,
    exact,
    iso_duration_ok,
    ratio_at_least,
    to_float,
)
from engine.errors import ScriptError, ScriptTimeout


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment()


def run_in_thread(target: Any) -> BaseException | None:
    """Run ``target`` in a worker thread (as a web server would) and return what it raised."""
    caught: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test to assert on
            caught.append(exc)

    worker = threading.Thread(target=body)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the sandboxed run did not end"
    return caught[0] if caught else None


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["eval", "exec"])
def test_refuses_dunder_import(env: SandboxEnvironment, mode: str) -> None:
    source = "__import__('os')" if mode == "eval" else "x = 1\nos = __import__('os')"
    with pytest.raises(ScriptError, match="'__import__' is not allowed"):
        if mode == "eval":
            env.evaluate(source, {})
        else:
            env.execute(source, {})


def test_refuses_open(env: SandboxEnvironment) -> None:
    context = {"a": 1}
    with pytest.raises(ScriptError) as info:
        env.execute("b = 2\ntext = open('/etc/passwd').read()", context)
    assert info.value.message == "script line 2: 'open' is not allowed"
    assert context == {"a": 1}


def test_refuses_subclasses_walk(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError, match="access to '__\\w+__' is refused"):
        env.evaluate("().__class__.__base__.__subclasses__()", {})
    with pytest.raises(ScriptError, match="access to '__class__' is refused"):
        env.execute("x = 1\nc = ().__class__", {})


@pytest.mark.parametrize("source", ["import os", "from os import path", "import os as o"])
def test_refuses_import_statement(env: SandboxEnvironment, source: str) -> None:
    with pytest.raises(ScriptError, match="script line 1: import is not allowed"):
        env.execute(source, {})


def test_refuses_try_because_it_could_swallow_the_timeout(env: SandboxEnvironment) -> None:
    # Once a trace function raises, CPython switches tracing off; a caught timeout would let the
    # loop continue unbounded, so `try` is refused at compile time.
    source = (
        "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass"
    )
    with pytest.raises(ScriptError, match="line 2: try/except is not allowed"):
        env.execute(source, {})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class A:\n    pass", "class definitions are not allowed"),
        ("x = 'a{}'.format(1)", "format"),
        ("x = str.mro()", "access to 'mro' is refused"),
        ("x = getattr(1, 'real')", "'getattr' is not allowed"),
        ("x = type(1)", "'type' is not allowed"),
        ("x = id(1)", "'id' is not allowed"),
        ("raise SystemExit(1)", "'SystemExit' is not defined"),
        ("d = {}\nd.attr = 1", "AttributeError"),
        ("s = 'abc'\ns.attr = 1", "cannot change a str in place"),
    ],
)
def test_refuses_other_escapes(env: SandboxEnvironment, source: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        env.execute(source, {})


def test_refuses_bulk_work_the_budget_cannot_see(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError, match="range of more than 1,000,000 items"):
        env.evaluate("len(range(10**7))", {})
    with pytest.raises(ScriptError, match="'\\*\\*' would build a number"):
        env.evaluate("10**10**8", {})
    with pytest.raises(ScriptError, match="'\\*\\*' would build a number"):
        env.evaluate("pow(3, 10**8)", {})
    with pytest.raises(ScriptError, match="'<<' would build a number"):
        env.evaluate("1 << 10**9", {})
    with pytest.raises(ScriptError, match="'\\*' would build a sequence of 10,000,000,000 items"):
        env.evaluate("'x' * 10**10", {})
    with pytest.raises(ScriptError, match="script line 3: '\\+' would build a sequence"):
        env.execute("s = 'x'\nfor i in range(40):\n    s = s + s", {})
    with pytest.raises(ScriptError, match="'\\*' would build a number"):
        env.execute("x = 3\nfor i in range(40):\n    x *= x", {})
    # ordinary sizes still work
    assert env.evaluate("len(range(1000)) + pow(2, 10) + len('-' * 80) + pow(2, 10**6, 7)", {}) == 2106


def test_expressions_cannot_change_task_data(env: SandboxEnvironment) -> None:
    context = {"items": [1, 2], "info": {"a": 1}}
    with pytest.raises(ScriptError, match=r"list\.append is refused"):
        env.evaluate("items.append(3) or True", context)
    with pytest.raises(ScriptError, match=r"dict\.update is refused"):
        env.evaluate("[info.update(b=2)]", context)
    assert context == {"items": [1, 2], "info": {"a": 1}}
    assert env.evaluate("sorted(items, reverse=True) + list(info.keys())", context) == [2, 1, "a"]


def test_missing_attribute_raises_instead_of_returning_none(env: SandboxEnvironment) -> None:
    # RestrictedPython 9's safer_getattr would return None here and hide the typo.
    with pytest.raises(ScriptError, match="AttributeError: 'dict' object has no attribute 'lenght'"):
        env.evaluate("info.lenght", {"info": {}})


# --- step budget ------------------------------------------------------------------------------


def test_endless_loop_in_a_worker_thread_times_out_and_leaves_data_alone(env: SandboxEnvironment) -> None:
    context = {"count": 1, "items": [1, 2, 3]}
    before = copy.deepcopy(context)
    source = "count = 99\nitems.append(4)\nwhile True:\n    pass"
    error = run_in_thread(lambda: env.execute(source, context))
    assert isinstance(error, ScriptTimeout)
    assert "2,000,000 steps" in error.message and "loops forever" in error.message
    assert error.message.startswith("script line 4:")
    assert context == before


def test_endless_loop_in_an_expression_times_out() -> None:
    small = SandboxEnvironment(step_budget=10_000)
    error = run_in_thread(lambda: small.evaluate("all(True for x in iter_forever())", {}))
    assert isinstance(error, ScriptError)  # iter_forever is not defined: nothing to loop over
    error = run_in_thread(lambda: small.execute("def f(n):\n    while n >= 0:\n        n = n + 1\nf(0)", {}))
    assert isinstance(error, ScriptTimeout)
    assert "10,000 steps" in error.message


def test_failing_script_leaves_context_exactly_as_it_was(env: SandboxEnvironment) -> None:
    nested = {"scores": [1, 2]}
    context: dict[str, Any] = {"a": 1, "nested": nested, "gone": True}
    before = copy.deepcopy(context)
    source = "a = 2\nnew = 'x'\nnested['scores'].append(3)\ndel gone\ny = undefined_name"
    error = run_in_thread(lambda: env.execute(source, context))
    assert isinstance(error, ScriptError)
    assert error.message == "script line 5: NameError: name 'undefined_name' is not defined"
    assert context == before
    assert context["nested"] is nested and nested == {"scores": [1, 2]}


def test_previous_trace_function_is_restored(env: SandboxEnvironment) -> None:
    seen: list[str] = []

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        seen.append(event)

    def body() -> None:
        sys.settrace(tracer)
        try:
            env.execute("x = 1", {})
            with pytest.raises(ScriptTimeout):
                SandboxEnvironment(step_budget=100).execute("while True:\n    pass", {})
            assert sys.gettrace() is tracer
        finally:
            sys.settrace(None)

    assert run_in_thread(body) is None


# --- write-back -------------------------------------------------------------------------------


def test_script_sorts_with_exact_key_and_writes_back_only_what_changed(env: SandboxEnvironment) -> None:
    candidates = [
        {"name": "Ani", "score": 2, "max": 3},
        {"name": "Budi", "score": 55, "max": 100},
        {"name": "Citra", "score": 7, "max": 10},
    ]
    untouched = {"unit": "village-7"}
    context: dict[str, Any] = {"candidates": candidates, "meta": untouched, "limit": 2}
    script = (
        "ranked = sorted(candidates, key=lambda c: exact(c['score'], c['max']), reverse=True)\n"
        "shortlist = [{'name': c['name'], 'share': to_float(exact(c['score'], c['max']))}"
        " for c in ranked[:limit]]\n"
        "limit = 2\n"
        "def helper(x):\n"
        "    return x\n"
        "key = lambda c: c\n"
    )
    assert env.execute(script, context) is True
    assert context["shortlist"] == [{"name": "Citra", "share": 0.7}, {"name": "Ani", "share": 2 / 3}]
    assert [c["name"] for c in context["ranked"]] == ["Citra", "Ani", "Budi"]
    # unchanged values are not written back (same objects), functions never are
    assert context["meta"] is untouched and context["candidates"] is candidates
    assert "helper" not in context and "key" not in context
    assert set(context) == {"candidates", "meta", "limit", "ranked", "shortlist"}


def test_changed_in_place_and_retyped_values_are_written_back(env: SandboxEnvironment) -> None:
    context: dict[str, Any] = {"items": [3, 1, 2], "flag": 1, "total": 0}
    env.execute("items.sort()\nflag = True\nfor i in items:\n    total += i", context)
    assert context == {"items": [1, 2, 3], "flag": True, "total": 6, "i": 3}
    assert type(context["flag"]) is bool


def test_del_removes_names(env: SandboxEnvironment) -> None:
    context: dict[str, Any] = {"keep": 1, "drop": 2, "data": {"a": 1, "b": 2}}
    env.execute("del drop\ndel data['a']", context)
    assert context == {"keep": 1, "data": {"b": 2}}


def test_fraction_left_in_a_variable_is_refused(env: SandboxEnvironment) -> None:
    context = {"a": 1}
    with pytest.raises(ScriptError) as info:
        env.execute("ok = 1\nx = exact(1, 3)", context)
    assert info.value.message == (
        "variable 'x' holds a Fraction; task data must be JSON (str, int, float, bool, None, list, dict)"
    )
    assert context == {"a": 1}


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("x = (1, 2)", "a tuple"),
        ("x = {1, 2}", "a set"),
        ("x = {1: 'a'}", "a dict key 1 that is not a str"),
        ("x = [{'a': float('inf')}]", "a non-finite float \\(inf\\) at x\\[0\\]\\['a'\\]"),
        ("x = []\nx.append(x)", "data nested deeper than 100 levels"),
    ],
)
def test_non_json_values_are_refused(env: SandboxEnvironment, source: str, what: str) -> None:
    with pytest.raises(ScriptError, match=f"variable 'x' holds {what}"):
        env.execute(source, {})


def test_task_data_shadowing_a_helper_is_refused(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError, match="'age_on', 'exact'"):
        env.execute("x = 1", {"exact": 1, "age_on": 2})
    with pytest.raises(ScriptError, match="'to_float'"):
        env.evaluate("1", {"to_float": 0})


def test_external_context_is_visible_but_not_written_back(env: SandboxEnvironment) -> None:
    assert env.evaluate("dmninputexpr > 5", {}, {"dmninputexpr": 7}) is True
    context: dict[str, Any] = {}
    env.execute("x = obj['v'] + 1", context, {"obj": {"v": 1}})
    assert context == {"x": 2}


def test_compiled_code_is_cached(env: SandboxEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = sandbox._compile

    def counting(source: str, mode: sandbox.Mode) -> Any:
        calls.append(source)
        return real(source, mode)

    monkeypatch.setattr(sandbox, "_compile", counting)
    for value in range(5):
        assert env.evaluate("n > 2", {"n": value}) is (value > 2)
    assert calls == ["n > 2"]

    tiny = SandboxEnvironment(cache_size=2)
    for source in ["1", "2", "3", "1"]:
        tiny.evaluate(source, {})
    assert calls.count("1") == 2  # evicted once the bounded cache filled


# --- helpers ----------------------------------------------------------------------------------


def test_age_on() -> None:
    assert age_on("2000-06-15", "2020-06-15") == 20
    assert age_on("2000-06-15", "2020-06-14") == 19
    assert age_on("2000-02-29", "2021-02-28") == 20
    assert age_on("2000-02-29", "2021-03-01") == 21
    assert age_on("2000-02-29", "2024-02-28") == 23
    assert age_on("2000-02-29", "2024-02-29") == 24
    with pytest.raises(ValueError, match="before the birth date"):
        age_on("2000-01-01", "1999-12-31")
    with pytest.raises(TypeError, match="ISO date string"):
        age_on(20000101, "2020-01-01")  # type: ignore[arg-type]


def test_ratio_at_least() -> None:
    assert ratio_at_least(55, 100, 0.55) is True
    assert ratio_at_least(54, 100, 0.55) is False
    assert ratio_at_least(10, 20, 0.5) is True
    assert ratio_at_least(1, 3, 0.333) is True
    assert ratio_at_least(1, 3, 0.334) is False
    assert ratio_at_least(0.1 + 0.2, 1, 0.3) is True  # str(0.30000000000000004) is still >= 0.3
    assert ratio_at_least(7, 10, 0.7) is True
    with pytest.raises(ValueError, match="denominator must be > 0"):
        ratio_at_least(1, 0, 0.5)
    with pytest.raises(TypeError, match="must be a number"):
        ratio_at_least(True, 2, 0.5)


def test_exact_and_to_float() -> None:
    assert exact(1, 3) == Fraction(1, 3)
    assert exact(0.1) == Fraction(1, 10)
    assert exact(0.1) + exact(0.2) == exact(0.3)
    assert to_float(exact(2, 3)) == 2 / 3
    with pytest.raises(ZeroDivisionError):
        exact(1, 0)


def test_helpers_are_usable_from_scripts(env: SandboxEnvironment) -> None:
    context: dict[str, Any] = {"born": "2000-02-29", "yes": 55, "votes": 100}
    env.execute(
        "age = age_on(born, '2021-03-01')\n"
        "passed = ratio_at_least(yes, votes, 0.55)\n"
        "due_ok = iso_duration_ok('P7D')\n",
        context,
    )
    assert (context["age"], context["passed"], context["due_ok"]) == (21, True, True)
    expected = "script line 1: ValueError: age_on\\(\\): on '2021-02-30' is not an ISO date"
    with pytest.raises(ScriptError, match=expected):
        env.execute("age = age_on(born, '2021-02-30')", context)


@pytest.mark.parametrize("text", ["P7D", "PT12H", "P1Y2M", "P2W", "P1Y2M3DT4H5M6S", "PT0.5S", "P1DT1.5H"])
def test_iso_duration_ok_accepts(text: str) -> None:
    assert iso_duration_ok(text) is True


@pytest.mark.parametrize("text", ["P", "PT", "7D", "P7", "p7d", "P1DT", "P1.5DT2H", "P1W2D", "P-1D", 7, None])
def test_iso_duration_ok_refuses(text: object) -> None:
    assert iso_duration_ok(text) is False


# --- compile_check ----------------------------------------------------------------------------


def test_compile_check() -> None:
    assert compile_check("x = sorted(items)\ny = x[0] if x else None", "exec") is None
    assert compile_check("score >= 30 and unit == 'a'", "eval") is None
    assert compile_check("x = 1\ny = (", "exec") == (
        "line 2: SyntaxError: '(' was never closed at statement: 'y = ('"
    )
    assert compile_check("> 5", "eval") == "line 1: SyntaxError: invalid syntax at statement: '> 5'"
    assert compile_check("a = 1\n\nb = __import__('os')", "exec") == (
        "line 3: '__import__' is not allowed (names starting with '_' are reserved)"
    )
    assert compile_check("().__class__", "eval") == "line 1: access to '__class__' is refused"
    assert compile_check("import os", "exec") == (
        "line 1: import is not allowed; scripts can use only the listed helpers"
    )
    assert compile_check("x = 1\nexec('y = 2')", "exec") == "line 2: 'exec' is not allowed"
    message = compile_check("x = 1\nfor i in x:\n    return i", "exec")
    assert message is not None and message.startswith("line 3: SyntaxError")
    with pytest.raises(ValueError, match="mode"):
        compile_check("x", "single")


def test_compile_errors_at_run_time_carry_the_line(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError) as info:
        env.execute("a = 1\nb = a +\n", {})
    assert info.value.message.startswith("script line 2: SyntaxError")


# --- SpiffWorkflow end to end -----------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs" targetNamespace="http://example.org/cadreflow">
  <bpmn:process id="screening" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute_score"/>
    <bpmn:scriptTask id="compute_score" name="Compute score">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>score = sum(answers) * 10</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute_score" targetRef="decide"/>
    <bpmn:exclusiveGateway id="decide" default="f_low">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_high</bpmn:outgoing><bpmn:outgoing>f_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_high" sourceRef="decide" targetRef="escape_attempt">
      <bpmn:conditionExpression>score &gt;= 30</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_low" sourceRef="decide" targetRef="mark_low"/>
    <bpmn:scriptTask id="escape_attempt" name="Escape attempt">
      <bpmn:incoming>f_high</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>os = __import__('os')</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="mark_low" name="Mark low">
      <bpmn:incoming>f_low</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>route = 'low'
note = missing_name</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="escape_attempt" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="mark_low" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def start_workflow(bpmn: str, process_id: str, data: dict[str, Any], dmn: str | None = None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn.encode(), "inline.bpmn")
    if dmn is not None:
        parser.add_dmn_str(dmn.encode(), "inline.dmn")
    workflow = BpmnWorkflow(
        parser.get_spec(process_id),
        subprocess_specs=parser.get_subprocess_specs(process_id),
        script_engine=SandboxScriptEngine(),
    )
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow


def test_bpmn_script_condition_and_refused_script() -> None:
    workflow = start_workflow(BPMN, "screening", {"answers": [1, 1, 2]})
    with pytest.raises(ScriptError) as info:
        workflow.do_engine_steps()
    assert info.value.element_id == "escape_attempt"
    assert "'__import__' is not allowed" in info.value.message
    [computed] = workflow.get_tasks(spec_name="compute_score")
    assert computed.data["score"] == 40


def test_bpmn_runtime_error_names_element_and_line() -> None:
    workflow = start_workflow(BPMN, "screening", {"answers": [1]})
    with pytest.raises(ScriptError) as info:
        workflow.do_engine_steps()
    assert info.value.element_id == "mark_low"
    assert info.value.message == "script line 2: NameError: name 'missing_name' is not defined"
    [low] = workflow.get_tasks(spec_name="mark_low")
    assert "route" not in low.data  # the failed script wrote nothing


DMN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://example.org/cadreflow">
  <bpmn:process id="grading" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade_task"/>
    <bpmn:businessRuleTask id="grade_task">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="grade_task" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn_defs" name="Grades"
    namespace="http://example.org/cadreflow">
  <decision id="grade" name="Grade">
    <decisionTable id="grade_table">
      <input id="in_score" label="Score">
        <inputExpression id="in_score_expr" typeRef="integer"><text>score</text></inputExpression>
      </input>
      <input id="in_kind" label="Kind">
        <inputExpression id="in_kind_expr" typeRef="string"><text>kind</text></inputExpression>
      </input>
      <output id="out_grade" name="grade" typeRef="string"/>
      <rule id="r1">
        <inputEntry id="r1_score"><text>&gt; 5</text></inputEntry>
        <inputEntry id="r1_kind"><text>"a"</text></inputEntry>
        <outputEntry id="r1_out"><text>"high-a"</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="r2_score"><text>4 &lt; ? &lt; 6</text></inputEntry>
        <inputEntry id="r2_kind"><text> in ['x', 'y']</text></inputEntry>
        <outputEntry id="r2_out"><text>"five-" + kind</text></outputEntry>
      </rule>
      <rule id="r3">
        <inputEntry id="r3_score"><text>-</text></inputEntry>
        <inputEntry id="r3_kind"><text>-</text></inputEntry>
        <outputEntry id="r3_out"><text>"other"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize(
    ("score", "kind", "grade"),
    [(9, "a", "high-a"), (5, "y", "five-y"), (5, "a", "other"), (9, "b", "other"), (3, "x", "other")],
)
def test_dmn_cells_run_through_the_sandbox(score: int, kind: str, grade: str) -> None:
    workflow = start_workflow(DMN_BPMN, "grading", {"score": score, "kind": kind}, dmn=DMN)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    [task] = workflow.get_tasks(spec_name="grade_task")
    assert task.data["grade"] == grade


def test_dmn_quirks_of_spiffworkflow() -> None:
    """Two SpiffWorkflow 3.2.0 DMN behaviours callers must know about (not sandbox bugs).

    It joins input and entry without a space (``kind`` + ``in [...]`` is ``kindin [...]``), so an
    ``in`` entry needs a leading space; and it wraps any non-Spiff error from a cell in a
    WorkflowTaskException, so the ScriptError is found on ``__context__``.
    """
    dmn = DMN.replace("<text> in ['x', 'y']</text>", "<text>in ['x', 'y']</text>")
    workflow = start_workflow(DMN_BPMN, "grading", {"score": 5, "kind": "y"}, dmn=dmn)
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    cause = info.value.__context__
    assert isinstance(cause, ScriptError)
    assert cause.element_id == "grade_task"
    assert "name 'kindin' is not defined" in cause.message


def test_engine_validate_raises_syntax_error_like_the_base() -> None:
    engine = SandboxScriptEngine()
    engine.validate("'a'")
    engine.validate("v in ['x', 'y']")
    with pytest.raises(SyntaxError):
        engine.validate("> 5")
    with pytest.raises(SyntaxError, match="'__import__' is not allowed"):
        engine.validate("__import__('os')")
