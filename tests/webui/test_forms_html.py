"""Server-rendered forms (``webui.forms_html``): every form in ``forms/`` renders a control for every
property, parses back to the data it showed, places the engine's errors beside their fields and speaks
both languages. The browser is simulated with lxml (``form_values()`` submits what a browser would:
enabled controls, checked boxes, the selected option)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from werkzeug.datastructures import MultiDict

from engine.definitions import load_bundles
from engine.forms import fill_defaults
from webui.forms_html import parse_form, render_form

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
FORM_NAMES = sorted(p.name.removesuffix(".schema.yaml") for p in FORMS.glob("*.schema.yaml"))

CHOICES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "open_batch": {
        "units[]": [("u1", "Unit one / 一号单位"), ("u2", "Unit two / 二号单位"), ("u3", "Unit three")]
    },
    "democratic_recommendation": {"votes[].candidate": [("a1", "An Yi"), ("a2", "An Er"), ("b1", "Bai Yi")]},
    "record_exam_scores": {"scores[].candidate": [("a1", "An Yi"), ("a2", "An Er"), ("b1", "Bai Yi")]},
    "propose_candidates": {"proposed[]": [("a1", "An Yi"), ("a2", "An Er"), ("b1", "Bai Yi")]},
    "opinions": {"opinions[].candidate": [("a2", "An Er"), ("b1", "Bai Yi")]},
    "committee_decision": {"decisions[].candidate": [("a2", "An Er"), ("b1", "Bai Yi")]},
    "backfill": {"backfill[]": [("o3", "O San"), ("o4", "O Si")]},
}


def _schema(form: str) -> dict[str, Any]:
    return yaml.safe_load((FORMS / f"{form}.schema.yaml").read_text(encoding="utf-8"))


def _task_forms() -> dict[tuple[str, str], str]:
    """(process, user task) → its form (name without ``.schema.yaml``); task ids repeat across processes."""
    return {
        (bundle.process_id, element): info.form_key.removesuffix(".schema.yaml")
        for bundle in load_bundles(ROOT / "processes")
        for element, info in bundle.user_tasks.items()
        if info.form_key
    }


def _samples() -> dict[str, dict[str, Any]]:
    """For each form, the data of its first completion in the process tests (happy paths first)."""
    forms = _task_forms()
    files = sorted(
        (ROOT / "processes").glob("*/tests/*.test.yaml"),
        key=lambda f: (f.name != "happy_path.test.yaml", str(f)),
    )
    samples: dict[str, dict[str, Any]] = {}
    for path in files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            process = (document or {}).get("process")
            for step in (document or {}).get("steps", []):
                complete = step.get("complete") if isinstance(step, dict) else None
                if complete and (process, complete.get("task")) in forms:
                    samples.setdefault(forms[(process, complete["task"])], complete.get("data") or {})
    # Optional fields show their defaults, so they come back filled in (an empty text stays empty:
    # the form leaves empty optional fields out).
    return {
        form: {k: v for k, v in fill_defaults(_schema(form), data).items() if k in data or v != ""}
        for form, data in samples.items()
    }


SAMPLES = _samples()


def _doc(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(f"<form>{html}</form>")


def _submit(html: str) -> MultiDict[str, str]:
    """What a browser would send for the rendered fields."""
    return MultiDict(_doc(html).form_values())


def _control(doc: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement:
    found = doc.xpath(f'.//*[@name="{name}"][not(@type="hidden")]')
    assert found, f"no control named {name}"
    return found[0]


def _expected_controls(
    schema: dict[str, Any], name: str, path: str, has_rows: bool, choices: dict[str, Any]
) -> list[tuple[str, str, str | None]]:
    """(name, tag, type) expected for every leaf property; tables: the first row and the template row."""
    kind = schema.get("type")
    if "enum" in schema:
        return [(name, "select", None)]
    if kind == "object":
        found = []
        for prop, sub in schema["properties"].items():
            child_name = f"{name}[{prop}]" if name else prop
            child_path = f"{path}.{prop}" if path else prop
            found += _expected_controls(sub, child_name, child_path, has_rows, choices)
        return found
    if kind == "array" and schema["items"].get("type") == "object":
        found = []
        for index in ("0", "__index__") if has_rows else ("__index__",):
            found += _expected_controls(schema["items"], f"{name}[{index}]", f"{path}[]", has_rows, choices)
        return found
    if kind == "array":
        listed = f"{path}[]" in choices or "enum" in schema["items"]  # options → a checkbox per option
        return [(f"{name}[]", "input", "checkbox") if listed else (name, "textarea", None)]
    if kind == "boolean":
        return [(name, "input", "checkbox")]
    if kind in ("integer", "number") or (isinstance(kind, list) and "number" in kind):
        return [(name, "input", "number")]
    if path in ("report", "reason") or schema.get("minLength", 0) >= 20:  # long text: the renderer's rule
        return [(name, "textarea", None)]
    if path in choices:
        return [(name, "select", None)]
    return [(name, "input", "date" if schema.get("format") == "date" else "text")]


# ---------------------------------------------------------------------------------------------------


def test_every_form_has_sample_data() -> None:
    assert sorted(SAMPLES) == FORM_NAMES


@pytest.mark.parametrize("with_choices", [True, False], ids=["choices", "no-choices"])
@pytest.mark.parametrize("form", FORM_NAMES)
def test_every_property_has_a_control(form: str, with_choices: bool) -> None:
    schema = _schema(form)
    choices = CHOICES.get(form, {}) if with_choices else {}
    doc = _doc(render_form(schema, SAMPLES[form], {}, choices, "en"))
    expected = _expected_controls(schema, "", "", True, choices)
    assert expected
    for name, tag, kind in expected:
        control = _control(doc, name)
        assert control.tag == tag, name
        if kind:
            assert control.get("type") == kind, name
    for control in doc.xpath(".//input[not(@type='hidden')] | .//select | .//textarea"):
        assert control.get("id") and control.get("name") and control.get("data-path"), lxml.html.tostring(
            control
        )
        for target in control.get("aria-describedby").split():
            assert doc.xpath(f'.//*[@id="{target}"]'), target
    ids = doc.xpath(".//@id")
    assert len(ids) == len(set(ids)), "ids are unique"


@pytest.mark.parametrize("with_choices", [True, False], ids=["choices", "no-choices"])
@pytest.mark.parametrize("form", FORM_NAMES)
def test_round_trip(form: str, with_choices: bool) -> None:
    schema = _schema(form)
    values = copy.deepcopy(SAMPLES[form])
    html = render_form(schema, values, {}, CHOICES.get(form, {}) if with_choices else {}, "en")
    assert parse_form(schema, _submit(html)) == values


def test_absent_optional_fields_show_their_defaults() -> None:
    schema = _schema("open_batch")
    doc = _doc(render_form(schema, {}, {}, {}, "en"))
    assert _control(doc, "pass_mark").get("value") == "60"
    assert _control(doc, "weights[exam]").get("value") == "0.5"
    assert _control(doc, "notice_period").get("value") == "P7D"
    assert _control(doc, "recommendation_threshold").get("step") == "any"
    quota = _control(doc, "quota")
    assert (quota.get("type"), quota.get("step"), quota.get("min")) == ("number", "1", "1")
    max_age = _control(doc, "conditions[max_age]")
    assert (max_age.get("min"), max_age.get("max"), max_age.get("data-path")) == (
        "18",
        "70",
        "conditions.max_age",
    )
    assert (
        doc.xpath('.//fieldset[@data-path="conditions"]/legend')[0]
        .text_content()
        .startswith("Recommendation")
    )


def test_paths_ids_and_required_marks() -> None:
    schema = _schema("nominate")
    doc = _doc(render_form(schema, SAMPLES["nominate"], {}, {}, "en"))
    reason = _control(doc, "nominees[2][reason]")
    assert reason.get("data-path") == "nominees[2].reason"
    assert reason.get("id") == "f-nominees-2-reason"
    assert reason.get("aria-describedby") == "f-nominees-2-reason__error"
    assert reason.get("value") == "under disciplinary review"
    assert reason.get("aria-required") is None
    assert _control(doc, "nominees[0][name]").get("aria-required") == "true"
    headers = {th.get("id"): th for th in doc.xpath(".//th[@id]")}
    assert headers["f-nominees__col-name"].xpath(".//abbr[contains(@class, 'form-required')]")
    assert not headers["f-nominees__col-reason"].xpath(".//abbr")
    education = _control(doc, "nominees[1][education]")
    # The form file's x-enum-labels name each level (English half, as the page is in English).
    assert [o.text for o in education.xpath("option")][1:] == [
        "High school",
        "Junior college",
        "Bachelor",
        "Master",
        "Doctorate",
    ]
    assert education.xpath("option[@selected]")[0].get("value") == "master"
    opinion = _control(doc, "nominees[2][committee_opinion]")
    assert opinion.xpath("option[@selected]")[0].text == "Not qualified"


def test_errors_appear_next_to_their_fields() -> None:
    schema = _schema("nominate")
    errors = {
        "nominees[2].reason": "should be non-empty",
        "nominees": "each nominee id may appear only once",
        "nominees[1]": "row problem",
        "nominees[9].name": "is required",
        "(form)": "the form breaks a rule",
    }
    doc = _doc(render_form(schema, SAMPLES["nominate"], errors, {}, "en"))

    def error_of(control_id: str) -> str:
        element = doc.get_element_by_id(control_id)
        target = element.get("aria-describedby").split()[0]
        return doc.get_element_by_id(target).text_content()

    assert error_of("f-nominees-2-reason") == "should be non-empty"
    assert error_of("f-nominees-2-name") == ""
    # the table's error sits right after the table; a row's in its last cell
    table_error = doc.get_element_by_id("f-nominees__error")
    assert "each nominee id may appear only once" in table_error.text_content()
    assert "nominees[9].name: is required" in table_error.text_content()  # no such row: shown at the table
    assert table_error.getprevious().tag == "table"
    assert error_of("f-nominees") == table_error.text_content()
    assert "row problem" in doc.get_element_by_id("f-nominees-1__error").text_content()
    assert doc.get_element_by_id("f-nominees-1__error").getparent().getparent().get("id") == "f-nominees-1"
    # the reason's error is in the same cell as the reason
    cell = doc.get_element_by_id("f-nominees-2-reason").getparent()
    assert doc.get_element_by_id("f-nominees-2-reason__error").getparent() is cell
    top = doc.get_element_by_id("f-form__error")
    assert top.text_content().strip() == "the form breaks a rule"
    assert top.get("hidden") is None


def test_errors_on_objects_and_scalars() -> None:
    schema = _schema("open_batch")
    errors = {"weights": "the two weights must add up to 1", "quota": "0 is less than the minimum of 1"}
    doc = _doc(render_form(schema, SAMPLES["open_batch"], errors, {}, "en"))
    weights = doc.xpath('.//fieldset[@data-path="weights"]')[0]
    assert weights.get("aria-describedby") == "f-weights__error"
    assert weights.xpath('.//*[@id="f-weights__error"]')[0].text == "the two weights must add up to 1"
    quota_error = doc.get_element_by_id("f-quota__error")
    assert quota_error.text == "0 is less than the minimum of 1"
    assert quota_error.getparent() is doc.get_element_by_id("f-quota").getparent()
    # field errors without a form-level one still get a note at the top
    assert doc.get_element_by_id("f-form__error").text_content().strip()
    clean = _doc(render_form(schema, SAMPLES["open_batch"], {}, {}, "en"))
    assert clean.get_element_by_id("f-form__error").get("hidden") is not None


def test_array_of_objects_table_has_add_and_remove_controls() -> None:
    schema = _schema("democratic_recommendation")
    doc = _doc(render_form(schema, SAMPLES["democratic_recommendation"], {}, {}, "en"))
    table = doc.xpath('.//table[@data-path="votes"]')[0]
    assert table.get("data-name") == "votes"
    assert doc.xpath(f'.//button[@type="button"][@data-form-add="{table.get("id")}"]')
    rows = table.xpath(".//tr[@data-row]")
    assert [r.get("data-index") for r in rows] == ["0", "1"]
    for row in rows:
        assert row.xpath('.//button[@type="button"][@data-form-remove]')
        assert not row.xpath(".//*[@disabled]")
    template = table.xpath(".//tr[@data-template]")
    assert len(template) == 1 and template[0].get("hidden") is not None
    controls = template[0].xpath(".//input | .//select | .//textarea")
    assert {c.get("name") for c in controls} == {"votes[__index__][candidate]", "votes[__index__][votes]"}
    assert all(c.get("disabled") for c in controls)
    assert table.xpath('.//th[@id="f-votes__col-votes"]')[0].text_content().startswith("Votes")
    assert _control(doc, "votes[0][votes]").get("aria-labelledby") == "f-votes__col-votes"
    html = render_form(schema, SAMPLES["democratic_recommendation"], {}, {}, "en")
    assert 'src="/static/form.js"' in html
    assert "form.js" not in render_form(schema, {}, {}, {}, "en", include_script=False)


def test_parse_reads_rows_in_index_order_and_skips_the_template() -> None:
    schema = _schema("democratic_recommendation")
    form = MultiDict(
        [
            ("csrf_token", "x"),
            ("participants", "20"),
            ("votes[10][candidate]", "c"),
            ("votes[10][votes]", "3"),
            ("votes[2][candidate]", "a"),
            ("votes[2][votes]", "12"),
            ("votes[__index__][candidate]", "ghost"),
        ]
    )
    assert parse_form(schema, form) == {
        "participants": 20,
        "votes": [{"candidate": "a", "votes": 12}, {"candidate": "c", "votes": 3}],
    }
    assert parse_form(schema, MultiDict([("participants", "")])) == {"votes": []}


def test_parse_coerces_and_keeps_what_does_not_parse() -> None:
    scores = _schema("record_exam_scores")
    form = MultiDict(
        [
            ("scores[0][candidate]", "a1"),
            ("scores[0][score]", ""),
            ("scores[1][candidate]", "a2"),
            ("scores[1][score]", "78.5"),
            ("scores[2][candidate]", "b1"),
            ("scores[2][score]", "eighty"),
            ("scores[3][candidate]", ""),
            ("scores[3][score]", "nan"),
        ]
    )
    assert parse_form(scores, form) == {
        "scores": [
            {"candidate": "a1", "score": None},
            {"candidate": "a2", "score": 78.5},
            {"candidate": "b1", "score": "eighty"},
            {"candidate": "", "score": "nan"},
        ]
    }
    batch = _schema("open_batch")
    parsed = parse_form(
        batch,
        MultiDict(
            [
                ("batch_name", ""),
                ("quota", "2.0"),
                ("units", "u1\r\n\r\n u2 \r\n"),
                ("conditions[max_age]", "forty"),
                ("conditions[min_education]", ""),
                ("conditions[min_service_years]", "3"),
                ("reference_date", "2027-01-01"),
                ("pass_mark", ""),
                ("notice_period", ""),
            ]
        ),
    )
    assert parsed == {
        "batch_name": "",  # required text: kept empty, the engine reports it
        "quota": 2,
        "units": ["u1", "u2"],
        "conditions": {"max_age": "forty", "min_service_years": 3},  # an empty required choice is left out
        "reference_date": "2027-01-01",
    }
    assert parse_form(_schema("inspect_candidate"), MultiDict([("report", "line one\r\nline two")])) == {
        "report": "line one\nline two"
    }
    assert parse_form(_schema("backfill"), MultiDict()) == {"backfill": []}


def test_nullable_number_may_be_left_empty() -> None:
    schema = _schema("record_exam_scores")
    values = {"scores": [{"candidate": "a1", "score": None}, {"candidate": "a2", "score": 61}]}
    html = render_form(schema, values, {}, {}, "en")
    doc = _doc(html)
    score = _control(doc, "scores[0][score]")
    assert score.get("type") == "number" and score.get("value") == ""
    assert "f-scores__col-score__hint" in score.get("aria-describedby").split()
    assert doc.get_element_by_id("f-scores__col-score__hint").text == "empty = absent"
    assert parse_form(schema, _submit(html)) == values
    zh = _doc(render_form(schema, values, {}, {}, "zh"))
    assert zh.get_element_by_id("f-scores__col-score__hint").text == "空=缺考"
    outside = {"type": "object", "properties": {"n": {"type": ["number", "null"], "title": "N"}}}
    doc = _doc(render_form(outside, {}, {}, {}, "en"))
    assert _control(doc, "n").get("aria-describedby") == "f-n__error f-n__hint"
    assert parse_form(outside, MultiDict([("n", "")])) == {"n": None}


def test_checkbox_lists_and_lines() -> None:
    schema = _schema("propose_candidates")
    choices = CHOICES["propose_candidates"]
    doc = _doc(render_form(schema, {"proposed": ["b1", "zz"]}, {}, choices, "en"))
    boxes = doc.xpath('.//input[@name="proposed[]"]')
    assert [(b.get("value"), b.get("checked") is not None) for b in boxes] == [
        ("a1", False),
        ("a2", False),
        ("b1", True),
        ("zz", True),  # a value the choices no longer offer stays visible
    ]
    assert all(
        b.get("type") == "checkbox" and b.get("aria-describedby") == "f-proposed__error" for b in boxes
    )
    assert doc.xpath('.//label[@for="f-proposed__opt1"]')[0].text_content().strip() == "An Er"
    reason = _control(doc, "reason")
    assert reason.tag == "textarea" and reason.text is None
    batch = _schema("open_batch")
    units = _control(_doc(render_form(batch, {"units": ["u1", "u2"]}, {}, {}, "en")), "units")
    assert (units.tag, units.text) == ("textarea", "u1\nu2")


def test_enum_labels_booleans_and_escaping() -> None:
    schema = {
        "type": "object",
        "required": ["rating", "agree"],
        "properties": {
            "rating": {
                "title": "Rating / 等次",
                "enum": ["excellent", "basically_competent"],
                "x-enum-labels": {"excellent": "Excellent / 优秀"},
            },
            "agree": {"type": "boolean", "title": "Agree / 同意"},
            "maybe": {"type": "boolean", "title": "Maybe"},
            "note": {"type": "string", "title": "Note"},
        },
    }
    values = {"rating": "excellent", "agree": True, "maybe": False, "note": '<script>alert("x")</script>'}
    html = render_form(schema, values, {}, {}, "zh")
    assert "<script>alert" not in html
    doc = _doc(html)
    assert [o.text for o in _control(doc, "rating").xpath("option")] == [
        "— 请选择 —",
        "优秀",
        "basically competent",
    ]
    assert _control(doc, "agree").get("type") == "checkbox" and _control(doc, "agree").get("checked")
    assert _control(doc, "note").get("value") == values["note"]
    assert parse_form(schema, _submit(html)) == values
    unchecked = render_form(schema, {"rating": "excellent"}, {}, {}, "en")
    assert parse_form(schema, _submit(unchecked)) == {"rating": "excellent", "agree": False, "maybe": False}


def test_labels_switch_language() -> None:
    schema = _schema("nominate")
    en = _doc(render_form(schema, SAMPLES["nominate"], {}, {}, "en"))
    zh = _doc(render_form(schema, SAMPLES["nominate"], {}, {}, "zh"))
    assert en.get_element_by_id("f-nominees__col-name").text_content().strip().startswith("Name")
    assert zh.get_element_by_id("f-nominees__col-name").text_content().strip().startswith("姓名")
    assert en.xpath(".//caption")[0].text_content().startswith("Nominees")
    assert zh.xpath(".//caption")[0].text_content().startswith("推荐人选")
    assert en.xpath(".//button[@data-form-add]")[0].text == "Add row"
    assert zh.xpath(".//button[@data-form-add]")[0].text == "添加一行"
    assert zh.xpath(".//button[@data-form-remove]")[0].text == "删除"
    batch = _schema("open_batch")
    zh_batch = _doc(render_form(batch, {}, {}, CHOICES["open_batch"], "zh"))
    assert zh_batch.xpath('.//label[@for="f-quota"]')[0].text_content().startswith("选拔名额")
    assert zh_batch.xpath('.//label[@for="f-units__opt0"]')[0].text_content().strip() == "一号单位"
    assert zh_batch.xpath('.//label[@for="f-units__opt2"]')[0].text_content().strip() == "Unit three"
