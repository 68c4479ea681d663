/*
 * The designer's editor page: one process draft, its files held here in `files` ({path: text}, from
 * #draft-files) and sent whole to the server on every save, test run and deploy.
 *
 *   Diagram    the bpmn-js modeler (global BpmnJS) with the spiffworkflow moddle descriptor, so
 *              cadreflow's extension elements are typed; the side form (#properties) reads and writes
 *              what cadreflow reads through the modeler's `modeling` and `moddle` services.
 *   Decisions  the dmn-js modeler (global DmnJS), opened on the decision table.
 *   Forms      YAML text with a server-rendered preview (POST preview, debounced).
 *   Tests      YAML text; "Run tests" saves and runs them, one PASS/FAIL line per test.
 *   Deploy     saves, then asks the server to deploy with a reason.
 *
 * Validation problems from a save are listed (#problem-list) and marked on the diagram at their
 * element (marker cf-problem plus an overlay badge); clicking either selects the element. State for
 * browser tests: body[data-modeler] = loading|ready|error, body[data-saved] = the count of saves
 * answered, body[data-tests] = running|done, body[data-deploy] = running|done|blocked.
 * The bpmn.io watermark (.bjs-powered-by) is left alone.
 */
(function () {
  "use strict";

  var body = document.body;
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var text = config.text;
  var files = JSON.parse(document.getElementById("draft-files").textContent);
  var current = { bpmn: null, dmn: null, form: null, test: null }; // the file shown per kind
  var problems = [];
  var modeler = null;
  var dmnModeler = null;
  var selected = null; // the diagram element in the side form
  var saves = 0;
  var READABLE = 0.75; // below this scale, labels cannot be read

  function kindOf(path) {
    if (/\.bpmn$/.test(path)) { return "bpmn"; }
    if (/\.dmn$/.test(path)) { return "dmn"; }
    if (/\.test\.yaml$/.test(path)) { return "test"; }
    if (/^forms\//.test(path) || /\.schema\.yaml$/.test(path)) { return "form"; }
    return "other";
  }

  function pathsOf(kind) {
    return Object.keys(files).filter(function (p) { return kindOf(p) === kind; }).sort();
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  var revision = config.revision; // of the draft as loaded or last saved here; the server refuses a stale one

  /** The draft as on the screen, with the revision it is based on (and ``extra`` fields). */
  async function draftPayload(extra) {
    return Object.assign({ files: await collect(), revision: revision }, extra || {});
  }

  function noteRevision(answer) {
    if (answer.ok && answer.data.revision) { revision = answer.data.revision; }
  }

  async function post(url, payload) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": config.csrf, Accept: "application/json" },
      body: JSON.stringify(payload),
    });
    var data = {};
    try { data = await response.json(); } catch (ignored) { data = { message: "HTTP " + response.status }; }
    return { ok: response.ok, status: response.status, data: data };
  }

  // ---- Tabs and file pickers ------------------------------------------------------------------

  function showTab(name) {
    document.querySelectorAll("#editor-tabs [data-tab]").forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === name;
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll(".tab-panel").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-panel") !== name;
    });
    if (name === "diagram" && modeler) { modeler.get("canvas").resized(); }
    if (name === "decisions") { openDmn(current.dmn); }
    body.dataset.tab = name;
  }

  // Where a new file of a kind goes, and what it starts with (name: lower-case letters, digits, _).
  var NEW_FILES = {
    form: function (name) {
      return ["forms/" + name + ".schema.yaml",
        "$schema: https://json-schema.org/draft/2020-12/schema\ntitle: " + name + "\ntype: object\n" +
        "additionalProperties: false\nrequired: []\nproperties: {}\n"];
    },
    test: function (name) {
      return ["processes/" + config.process + "/tests/" + name + ".test.yaml",
        "name: " + name + "\nprocess: " + config.process + "\nsteps:\n  - start: {as: org_department}\n"];
    },
  };

  function buildPickers() {
    document.querySelectorAll(".file-pick").forEach(function (holder) {
      var kind = holder.getAttribute("data-kind");
      var paths = pathsOf(kind);
      var count = document.querySelector('[data-count="' + kind + '"]');
      if (count) { count.textContent = String(paths.length); }
      holder.textContent = "";
      var empty = document.querySelector('[data-empty="' + kind + '"]');
      if (empty) { empty.hidden = paths.length > 0; }
      if (paths.length && paths.indexOf(current[kind]) < 0) { current[kind] = paths[0]; }
      if (paths.length > 1 || (paths.length && kind !== "bpmn")) {
        var select = el("select", { id: "pick-" + kind, "aria-label": kind });
        paths.forEach(function (p) { select.appendChild(el("option", { value: p, text: p })); });
        select.value = current[kind];
        select.addEventListener("change", function () { switchFile(kind, select.value); });
        holder.appendChild(select);
      }
      if (NEW_FILES[kind]) {
        var button = el("button", { type: "button", class: "secondary small", id: "new-" + kind, text: text.newFile });
        button.addEventListener("click", function () { newFile(kind); });
        holder.appendChild(button);
      }
    });
  }

  function newFile(kind) {
    var name = (window.prompt(text.newFileName) || "").trim();
    if (!name) { return; }
    if (!/^[a-z][a-z0-9_]*$/.test(name)) { window.alert(text.badFileName); return; }
    var made = NEW_FILES[kind](name);
    if (files[made[0]] === undefined) { files[made[0]] = made[1]; markDirty(); }
    current[kind] = made[0];
    buildPickers();
    showText(kind, made[0]);
  }

  async function switchFile(kind, path) {
    await collect();
    current[kind] = path;
    if (kind === "bpmn") { await openBpmn(path); }
    if (kind === "dmn") { dmnOpened = null; await openDmn(path); }
    if (kind === "form") { showText("form", path); }
    if (kind === "test") { showText("test", path); }
  }

  // ---- The BPMN modeler and the side form ------------------------------------------------------

  function bo(element) { return element && element.businessObject; }

  function isA(element, type) {
    var b = bo(element);
    return Boolean(b && b.$instanceOf && b.$instanceOf(type));
  }

  function extensionValues(b) {
    return (b.extensionElements && b.extensionElements.values) || [];
  }

  function findExtension(b, type) {
    return extensionValues(b).filter(function (v) { return v.$type === type; })[0];
  }

  function readProperty(b, name) {
    var holder = findExtension(b, "spiffworkflow:Properties");
    var found = holder && (holder.properties || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }

  function laneOf(element) {
    var registry = modeler.get("elementRegistry");
    var lanes = registry.filter(function (e) { return e.type === "bpmn:Lane"; });
    var b = bo(element);
    var lane = lanes.filter(function (l) { return (bo(l).flowNodeRef || []).indexOf(b) >= 0; })[0];
    return lane ? bo(lane).name || bo(lane).id : "";
  }

  function timerDefinition(b) {
    return (b.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
  }

  /** What the side form shows for an element: each data-show group that applies. */
  function groupsFor(element) {
    var groups = {};
    var b = bo(element);
    groups.lane = isA(element, "bpmn:FlowNode") && !isA(element, "bpmn:Lane");
    groups.condition = isA(element, "bpmn:SequenceFlow");
    groups.timer = Boolean(timerDefinition(b));
    groups.userTask = isA(element, "bpmn:UserTask");
    groups.decision = isA(element, "bpmn:BusinessRuleTask");
    groups.script = isA(element, "bpmn:ScriptTask");
    groups.task = isA(element, "bpmn:Task");
    return groups;
  }

  function fillSideForm(element) {
    selected = element && element.type !== "label" ? element : (element && element.labelTarget) || null;
    var none = !selected || selected === modeler.get("canvas").getRootElement();
    document.getElementById("props-none").hidden = !none;
    document.getElementById("props-fields").hidden = none;
    if (none) { selected = null; return; }
    var b = bo(selected);
    var groups = groupsFor(selected);
    document.querySelectorAll("#props-fields [data-show]").forEach(function (node) {
      node.hidden = !groups[node.getAttribute("data-show")];
    });
    var timer = timerDefinition(b);
    var timerKind = timer ? (["timeDuration", "timeDate", "timeCycle"].filter(function (k) { return timer[k]; })[0] || "timeDuration") : "timeDuration";
    var values = {
      id: b.id || "",
      name: b.name || "",
      condition: (b.conditionExpression && b.conditionExpression.body) || "",
      timerKind: timerKind,
      timer: timer && timer[timerKind] ? timer[timerKind].body || "" : "",
      formJsonSchemaFilename: readProperty(b, "formJsonSchemaFilename"),
      dueIn: readProperty(b, "dueIn"),
      unitKey: readProperty(b, "unitKey"),
      instructionsForEndUser: ((findExtension(b, "spiffworkflow:InstructionsForEndUser") || {}).value) || "",
      calledDecisionId: ((findExtension(b, "spiffworkflow:CalledDecisionId") || {}).value) || "",
      script: b.script || "",
      preScript: ((findExtension(b, "spiffworkflow:PreScript") || {}).value) || "",
      postScript: ((findExtension(b, "spiffworkflow:PostScript") || {}).value) || "",
    };
    document.querySelectorAll("#props-fields [data-prop]").forEach(function (input) {
      input.value = values[input.getAttribute("data-prop")];
    });
    document.getElementById("prop-type").textContent = b.$type.replace("bpmn:", "");
    document.getElementById("prop-lane").textContent = groups.lane ? laneOf(selected) || "—" : "";
    var list = document.getElementById("prop-problems");
    list.textContent = "";
    problems.filter(function (p) { return p.element_id === b.id; }).forEach(function (p) {
      list.appendChild(el("li", { text: (p.rule ? "[" + p.rule + "] " : "") + p.message }));
    });
  }

  /** extensionElements of `b`, created when missing (written through modeling, so undo works). */
  function ensureExtensions(element) {
    var b = bo(element);
    if (!b.extensionElements) {
      var moddle = modeler.get("moddle");
      modeler.get("modeling").updateProperties(element, {
        extensionElements: moddle.create("bpmn:ExtensionElements", { values: [] }),
      });
    }
    return b.extensionElements;
  }

  function setBodyExtension(element, type, value) {
    var modeling = modeler.get("modeling");
    var ext = ensureExtensions(element);
    var existing = findExtension(bo(element), type);
    if (existing && value) {
      modeling.updateModdleProperties(element, existing, { value: value });
    } else if (existing) {
      modeling.updateModdleProperties(element, ext, { values: ext.values.filter(function (v) { return v !== existing; }) });
    } else if (value) {
      var created = modeler.get("moddle").create(type, { value: value });
      created.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.values.concat([created]) });
    }
  }

  function setProperty(element, name, value) {
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var ext = ensureExtensions(element);
    var holder = findExtension(bo(element), "spiffworkflow:Properties");
    if (!holder) {
      if (!value) { return; }
      holder = moddle.create("spiffworkflow:Properties", { properties: [] });
      holder.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.values.concat([holder]) });
    }
    var props = holder.properties || [];
    var found = props.filter(function (p) { return p.name === name; })[0];
    if (found && value) {
      modeling.updateModdleProperties(element, found, { value: value });
    } else if (found) {
      modeling.updateModdleProperties(element, holder, { properties: props.filter(function (p) { return p !== found; }) });
    } else if (value) {
      var created = moddle.create("spiffworkflow:Property", { name: name, value: value });
      created.$parent = holder;
      modeling.updateModdleProperties(element, holder, { properties: props.concat([created]) });
    }
  }

  function formalExpression(value) {
    return value ? modeler.get("moddle").create("bpmn:FormalExpression", { body: value }) : undefined;
  }

  /** One edited field of the side form → the element, through the modeler (undoable, marks dirty). */
  function applyField(input) {
    if (!selected) { return; }
    var element = selected;
    var modeling = modeler.get("modeling");
    var prop = input.getAttribute("data-prop");
    var value = input.value;
    var b = bo(element);
    if (prop === "id") {
      if (value && value !== b.id && !modeler.get("elementRegistry").get(value)) {
        modeling.updateProperties(element, { id: value });
      }
    } else if (prop === "name") {
      modeling.updateLabel(element, value);
    } else if (prop === "condition") {
      modeling.updateProperties(element, { conditionExpression: formalExpression(value) });
    } else if (prop === "timer" || prop === "timerKind") {
      var timer = timerDefinition(b);
      var kind = document.getElementById("prop-timer-kind").value;
      var change = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      change[kind] = formalExpression(document.getElementById("prop-timer").value);
      modeling.updateModdleProperties(element, timer, change);
    } else if (prop === "script") {
      modeling.updateProperties(element, { script: value });
    } else if (prop === "formJsonSchemaFilename" || prop === "dueIn" || prop === "unitKey") {
      setProperty(element, prop, value.trim());
    } else {
      setBodyExtension(element, "spiffworkflow:" + prop.charAt(0).toUpperCase() + prop.slice(1), value);
    }
    markDirty();
  }

  function wireSideForm() {
    document.querySelectorAll("#props-fields [data-prop]").forEach(function (input) {
      input.addEventListener("change", function () { applyField(input); });
    });
  }

  var dirty = false;
  function markDirty() {
    dirty = true;
    document.getElementById("save-status").textContent = text.unsaved;
  }

  /** The whole diagram if it is readable so; else a readable scale from its top left corner. */
  function readableView(canvas) {
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= READABLE) { return; }
    var box = canvas.viewbox();
    canvas.viewbox({
      x: box.inner.x - 40, y: box.inner.y - 20,
      width: box.outer.width / READABLE, height: box.outer.height / READABLE,
    });
  }

  async function openBpmn(path) {
    if (!path) { return; }
    await modeler.importXML(files[path]);
    readableView(modeler.get("canvas"));
    markProblems();
  }

  async function startModeler() {
    body.dataset.modeler = "loading";
    var descriptor = await (await fetch(config.descriptor, { credentials: "same-origin" })).json();
    modeler = new window.BpmnJS({
      container: document.getElementById("modeler"),
      moddleExtensions: { spiffworkflow: descriptor },
    });
    window.cadreflowModeler = modeler;
    modeler.on("selection.changed", function (event) { fillSideForm(event.newSelection[0] || null); });
    modeler.on("element.changed", function (event) {
      if (selected && event.element === selected) { fillSideForm(selected); }
    });
    modeler.on("commandStack.changed", markDirty);
    wireSideForm();
    await openBpmn(current.bpmn);
    dirty = false;
    document.getElementById("save-status").textContent = "";
    body.dataset.modeler = "ready";
  }

  // ---- The DMN modeler -------------------------------------------------------------------------

  var dmnOpened = null;
  async function openDmn(path) {
    if (!path || dmnOpened === path || typeof window.DmnJS !== "function") { return; }
    if (!dmnModeler) {
      dmnModeler = new window.DmnJS({ container: document.getElementById("dmn-editor") });
      window.cadreflowDmn = dmnModeler;
    }
    body.dataset.dmn = "loading";
    await dmnModeler.importXML(files[path]);
    var table = dmnModeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    if (table) { await dmnModeler.open(table); }
    var viewer = dmnModeler.getActiveViewer();
    if (viewer && !viewer.cadreflowWatched) { // an edited table is unsaved work, as the diagram is
      viewer.on("elements.changed", markDirty);
      viewer.cadreflowWatched = true;
    }
    dmnOpened = path;
    markDmnProblems();
    body.dataset.dmn = "ready";
  }

  // ---- Forms and tests as text -----------------------------------------------------------------

  function showText(kind, path) {
    var area = document.getElementById(kind + "-text");
    area.value = path ? files[path] : "";
    area.disabled = !path;
    if (kind === "form") { schedulePreview(); }
  }

  var previewTimer = null;
  var previewSeq = 0;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 350);
  }

  async function preview() {
    var seq = ++previewSeq;
    var answer = await post(config.preview, { yaml: document.getElementById("form-text").value });
    if (seq !== previewSeq) { return; } // a newer preview is on its way
    var error = document.getElementById("form-preview-error");
    if (!answer.ok) {
      error.textContent = answer.data.message || "";
      error.hidden = false;
      body.dataset.preview = "error";
      return;
    }
    error.hidden = true;
    document.getElementById("form-preview-title").textContent = answer.data.title || "";
    document.getElementById("form-preview").innerHTML = answer.data.html; // rendered and escaped by the server
    body.dataset.preview = "ready";
  }

  function wireTexts() {
    ["form", "test"].forEach(function (kind) {
      var area = document.getElementById(kind + "-text");
      area.addEventListener("input", function () {
        if (!current[kind]) { return; }
        files[current[kind]] = area.value;
        markDirty();
        if (kind === "form") { schedulePreview(); }
      });
      showText(kind, current[kind]);
    });
  }

  // ---- Save, problems ---------------------------------------------------------------------------

  /** Bring the modelers' current XML into `files`. */
  async function collect() {
    if (modeler && current.bpmn) {
      files[current.bpmn] = (await modeler.saveXML({ format: true })).xml;
    }
    if (dmnModeler && dmnOpened) {
      files[dmnOpened] = (await dmnModeler.saveXML({ format: true })).xml;
    }
    return files;
  }

  function clearMarks() {
    if (!modeler) { return; }
    var canvas = modeler.get("canvas");
    modeler.get("overlays").remove({ type: "cf-problem" });
    modeler.get("elementRegistry").forEach(function (element) { canvas.removeMarker(element, "cf-problem"); });
  }

  function markProblems() {
    clearMarks();
    if (!modeler) { return; }
    var registry = modeler.get("elementRegistry");
    var overlays = modeler.get("overlays");
    var canvas = modeler.get("canvas");
    var counted = {};
    problems.forEach(function (p) {
      var element = p.element_id && p.file === current.bpmn && registry.get(p.element_id);
      if (!element) { return; }
      canvas.addMarker(element, "cf-problem");
      counted[p.element_id] = (counted[p.element_id] || 0) + 1;
    });
    Object.keys(counted).forEach(function (id) {
      var badge = el("button", { type: "button", class: "problem-badge", "data-element": id, title: id, text: "!" + (counted[id] > 1 ? counted[id] : "") });
      badge.addEventListener("click", function () { selectElement(id); });
      overlays.add(id, "cf-problem", { position: { top: -10, right: 10 }, html: badge });
    });
  }

  /** Problems of the open decision file: its cells (by entry id) or whole rows (by rule id) outlined. */
  function markDmnProblems() {
    var holder = document.getElementById("dmn-editor");
    holder.querySelectorAll(".cf-problem-cell").forEach(function (cell) { cell.classList.remove("cf-problem-cell"); });
    problems.forEach(function (p) {
      if (!p.element_id || p.file !== dmnOpened) { return; }
      var id = window.CSS && CSS.escape ? CSS.escape(p.element_id) : p.element_id;
      holder.querySelectorAll('[data-element-id="' + id + '"], [data-row-id="' + id + '"]').forEach(function (cell) {
        cell.classList.add("cf-problem-cell");
        cell.title = p.message;
      });
    });
  }

  function selectElement(id) {
    showTab("diagram");
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return; }
    modeler.get("selection").select(element);
    modeler.get("canvas").scrollToElement(element);
  }

  function showProblems(list) {
    problems = list || [];
    var section = document.getElementById("problems");
    var ul = document.getElementById("problem-list");
    ul.textContent = "";
    problems.forEach(function (p) {
      var where = p.file.split("/").pop() + (p.line ? ":" + p.line : "");
      var item = el("li", { class: "problem", "data-element": p.element_id || "", "data-file": p.file });
      var button = el("button", { type: "button", class: "link", text: p.element_id || text.noElement });
      button.addEventListener("click", function () { goToProblem(p); });
      item.appendChild(el("code", { text: where }));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(button);
      item.appendChild(document.createTextNode(": " + (p.rule ? "[" + p.rule + "] " : "") + p.message));
      ul.appendChild(item);
    });
    document.getElementById("problem-count").textContent = problems.length ? "(" + problems.length + ")" : "";
    section.hidden = problems.length === 0;
    markProblems();
    if (dmnOpened) { markDmnProblems(); }
    if (selected) { fillSideForm(selected); }
  }

  function goToProblem(p) {
    var kind = kindOf(p.file);
    if (kind === "bpmn") {
      if (current.bpmn !== p.file) { switchFile("bpmn", p.file).then(function () { selectElement(p.element_id); }); return; }
      selectElement(p.element_id);
    } else if (kind === "dmn") {
      var picker = document.getElementById("pick-dmn");
      if (picker) { picker.value = p.file; }
      if (dmnOpened && dmnOpened !== p.file) { switchFile("dmn", p.file); } else { current.dmn = p.file; }
      showTab("decisions");
    } else if (kind === "form" || kind === "test") {
      current[kind] = p.file;
      var textPicker = document.getElementById("pick-" + kind);
      if (textPicker) { textPicker.value = p.file; }
      showText(kind, p.file);
      showTab(kind === "form" ? "forms" : "tests");
    }
  }

  async function save() {
    var status = document.getElementById("save-status");
    status.textContent = text.saving;
    try {
      var answer = await post(config.save, await draftPayload());
      noteRevision(answer);
      if (!answer.ok) {
        status.textContent = text.failed + " " + (answer.data.message || answer.status);
        return false;
      }
      dirty = false;
      showProblems(answer.data.problems);
      status.textContent = problems.length ? text.savedProblems + " " + problems.length : text.saved;
      return true;
    } finally {
      body.dataset.saved = String(++saves);
    }
  }

  function resultLines(results) {
    return results.map(function (r) {
      return (r.passed ? "PASS " : "FAIL ") + r.name + (r.passed || !r.message ? "" : ": " + r.message);
    });
  }

  /** One line per result; FAIL lines stand out. */
  function showLines(out, lines) {
    out.textContent = "";
    lines.forEach(function (line) {
      var cls = /^FAIL /.test(line) ? "fail" : /^PASS /.test(line) ? "pass" : "";
      out.appendChild(el("span", { class: "result-line " + cls, text: line }));
      out.appendChild(document.createTextNode("\n"));
    });
  }

  async function runTests() {
    var status = document.getElementById("tests-status");
    var out = document.getElementById("test-results");
    body.dataset.tests = "running";
    status.textContent = text.running;
    out.hidden = true;
    try {
      var answer = await post(config.tests, await draftPayload());
      noteRevision(answer);
      if (!answer.ok) {
        status.textContent = answer.data.message || String(answer.status);
        return;
      }
      showProblems(answer.data.problems);
      if (answer.data.problems.length) {
        status.textContent = text.savedProblems + " " + answer.data.problems.length;
        return;
      }
      var results = answer.data.results;
      var passed = results.filter(function (r) { return r.passed; }).length;
      showLines(out, resultLines(results).concat([passed + " " + text.passed + ", " + (results.length - passed) + " " + text.failedCount]));
      out.classList.toggle("has-failures", passed < results.length);
      out.hidden = false;
      status.textContent = "";
    } finally {
      body.dataset.tests = "done";
    }
  }

  async function deploy() {
    var status = document.getElementById("deploy-status");
    var out = document.getElementById("deploy-results");
    body.dataset.deploy = "running";
    status.textContent = text.deploying;
    status.className = "";
    out.hidden = true;
    // Save first (with the revision check), then deploy what was saved.
    if (!(await save())) {
      status.className = "error";
      status.textContent = text.blocked + " " + document.getElementById("save-status").textContent;
      body.dataset.deploy = "blocked";
      return;
    }
    var answer = await post(config.deploy, { why: document.getElementById("deploy-why").value });
    if (answer.ok) {
      var v = answer.data.version;
      status.className = "ok";
      status.textContent = "";
      status.appendChild(document.createTextNode(v.created
        ? text.deployed + " " + v.version + " (" + String(v.hash).slice(0, 12) + "). "
        : v.message + ". "));
      status.appendChild(el("a", { href: answer.data.versions_url, id: "deployed-versions-link", text: text.versions }));
      var results = v.results || [];
      if (results.length) { // the tests the deployment ran
        showLines(out, resultLines(results).concat([results.length + " " + text.passed + ", 0 " + text.failedCount]));
        out.hidden = false;
      }
      dirty = false;
      document.getElementById("save-status").textContent = "";
      body.dataset.deploy = "done";
      return;
    }
    status.className = "error";
    status.textContent = text.blocked + " " + (answer.data.message || answer.status);
    var lines = [];
    if (answer.data.problems) {
      showProblems(answer.data.problems);
      lines = answer.data.problems.map(function (p) { return p.file + ":" + (p.line || "") + ": " + (p.element_id || "-") + ": " + p.message; });
    }
    if (answer.data.results) { lines = lines.concat(resultLines(answer.data.results)); }
    if (lines.length) { showLines(out, lines); out.hidden = false; }
    body.dataset.deploy = "blocked";
  }

  // ---- Start -------------------------------------------------------------------------------------

  document.querySelectorAll("#editor-tabs [data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function () { showTab(tab.getAttribute("data-tab")); });
  });
  document.getElementById("save-draft").addEventListener("click", save);
  document.getElementById("run-tests").addEventListener("click", runTests);
  document.getElementById("deploy").addEventListener("click", deploy);
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  buildPickers();
  wireTexts();
  body.dataset.tab = "diagram";
  startModeler().catch(function (error) {
    body.dataset.modeler = "error";
    document.getElementById("save-status").textContent = String(error && error.message || error);
    if (window.console) { window.console.error(error); }
  });
})();
