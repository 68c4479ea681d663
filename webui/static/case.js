/*
 * The case page's diagram: the case's pinned BPMN (fetched from #diagram[data-src]) in the bpmn-js
 * navigated viewer, with the path taken so far marked from the JSON in #case-path
 * ({"completed": [element ids], "active": [element ids]}):
 *
 *   cf-done    completed elements, and the sequence flows between them (green)
 *   cf-active  elements waiting now: ready tasks, running timers (orange, pulsing)
 *   cf-future  every other flow element (grey)
 *
 * Bilingual names ("Open batch / 开启批次") are shown in the page's language. When the import is done,
 * document.body.dataset.diagram is "ready" (browser tests wait for it); on failure it is "error" and
 * #diagram-message says so. The viewer is window.cadreflowViewer. The bpmn.io watermark is left alone.
 */
(function () {
  "use strict";

  var BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var CJK = /[\u3400-\u9fff]/;
  var MIN_HEIGHT = 320;
  var MAX_HEIGHT = 640;
  var PAD = 16; // px around the diagram when fitted
  var RESERVE = 56; // px kept free under it for the watermark
  var READABLE = 0.7; // below this scale, labels cannot be read
  var body = document.body;
  var container = document.getElementById("diagram");
  var message = document.getElementById("diagram-message");
  if (!container) {
    return;
  }
  var language = (document.documentElement.lang || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";

  /** "Open batch / 开启批次" → the half in the page's language (like webui.i18n.pick). */
  function pick(text) {
    var parts = text.split(" / ").map(function (part) { return part.trim(); });
    if (parts.length < 2) {
      return text;
    }
    var wanted = parts.filter(function (part) { return CJK.test(part) === (language === "zh"); });
    return wanted.length ? wanted.join(" / ") : text;
  }

  /** The XML with every BPMN element's bilingual name reduced to the page's language. */
  function localise(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) {
      return xml; // let bpmn-js report the problem
    }
    var roles = document.getElementById("role-names");
    var roleNames = roles ? JSON.parse(roles.textContent) : {};
    var elements = doc.getElementsByTagNameNS(BPMN_MODEL, "*");
    for (var i = 0; i < elements.length; i++) {
      var name = elements[i].getAttribute("name");
      if (elements[i].localName === "lane" && roleNames[name]) {
        elements[i].setAttribute("name", pick(roleNames[name])); // lanes are named by role id
      } else if (name && name.indexOf(" / ") > 0) {
        elements[i].setAttribute("name", pick(name));
      }
    }
    return new XMLSerializer().serializeToString(doc);
  }

  function readPath() {
    var node = document.getElementById("case-path");
    var path = node ? JSON.parse(node.textContent) : {};
    return { completed: path.completed || [], active: path.active || [] };
  }

  function isA(element, type) {
    var bo = element.businessObject;
    return Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));
  }

  /** Mark each flow node and sequence flow as done, active or future (labels of future ones grey too). */
  function mark(viewer, path) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var done = new Set(path.completed);
    var active = new Set(path.active);

    function state(element) {
      if (isA(element, "bpmn:SequenceFlow")) {
        var source = element.businessObject.sourceRef && element.businessObject.sourceRef.id;
        var target = element.businessObject.targetRef && element.businessObject.targetRef.id;
        return done.has(source) && (done.has(target) || active.has(target)) ? "cf-done" : "cf-future";
      }
      if (isA(element, "bpmn:FlowNode")) {
        var id = element.businessObject.id;
        return active.has(id) ? "cf-active" : done.has(id) ? "cf-done" : "cf-future";
      }
      return null;
    }

    registry.getAll().forEach(function (element) {
      if (element.type === "label" || element === canvas.getRootElement()) {
        return;
      }
      var marker = state(element);
      if (!marker) {
        return;
      }
      canvas.addMarker(element, marker);
      if (isA(element, "bpmn:SubProcess")) {
        canvas.addMarker(element, "cf-container");
      }
      if (marker === "cf-future") { // a not-reached element's external label is greyed with it
        (element.labels || []).forEach(function (label) {
          canvas.addMarker(label, marker);
        });
      }
    });
  }

  /**
   * Fit the whole diagram (canvas.zoom("fit-viewport")), then inset it a little and keep a free band
   * under it, so the bpmn.io watermark (bottom right, always visible) covers none of the diagram.
   */
  function fit(viewer) {
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    var box = canvas.viewbox();
    var inner = box.inner;
    var outer = box.outer;
    if (!inner.width || !inner.height || !outer.width || !outer.height) {
      return;
    }
    var scale = Math.min((outer.width - 2 * PAD) / inner.width, (outer.height - PAD - RESERVE) / inner.height);
    if (!(scale > 0)) {
      return;
    }
    var width = outer.width / scale;
    canvas.viewbox({
      x: inner.x - (width - inner.width) / 2,
      y: inner.y - PAD / scale,
      width: width,
      height: outer.height / scale,
    });
  }

  /**
   * A long process fitted into the page is too small to read: then zoom to a readable scale around
   * where the case stands (its first waiting element, else the last one completed). Fit shows all.
   */
  function focusOnPath(viewer, path) {
    var canvas = viewer.get("canvas");
    if (canvas.zoom() >= READABLE) {
      return;
    }
    var registry = viewer.get("elementRegistry");
    var ids = path.active.length ? path.active : path.completed.slice(-1);
    var element = ids.map(function (id) { return registry.get(id); }).filter(Boolean)[0];
    if (!element) {
      return;
    }
    var outer = canvas.viewbox().outer;
    var width = outer.width / READABLE;
    var height = outer.height / READABLE;
    canvas.viewbox({
      x: element.x + element.width / 2 - width / 2,
      y: element.y + element.height / 2 - height / 2,
      width: width,
      height: height,
    });
  }

  /** Give the canvas the diagram's proportions (within limits), so fitting it leaves no empty bands. */
  function sizeToDiagram(viewer) {
    var canvas = viewer.get("canvas");
    var inner = canvas.viewbox().inner;
    var width = container.clientWidth;
    if (!inner || !inner.width || !width) {
      return;
    }
    var wanted = Math.round((width - 2 * PAD) * inner.height / inner.width) + PAD + RESERVE;
    container.style.height = Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, wanted)) + "px";
    canvas.resized();
  }

  function wireZoom(viewer) {
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var canvas = viewer.get("canvas");
        var how = button.getAttribute("data-zoom");
        if (how === "fit") {
          fit(viewer);
        } else {
          canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
        }
      });
    });
  }

  function fail(error) {
    body.dataset.diagram = "error";
    if (message) {
      message.textContent = (container.getAttribute("data-error") || "The diagram could not be shown.") +
        (error && error.message ? " (" + error.message + ")" : "");
      message.hidden = false;
    }
    if (window.console) {
      window.console.error(error);
    }
  }

  async function show() {
    if (typeof window.BpmnJS !== "function") {
      throw new Error("bpmn-js did not load");
    }
    var viewer = new window.BpmnJS({ container: container });
    window.cadreflowViewer = viewer;
    var response = await fetch(container.getAttribute("data-src"), {
      credentials: "same-origin",
      headers: { Accept: "application/xml" },
    });
    if (!response.ok) {
      throw new Error("HTTP " + response.status);
    }
    await viewer.importXML(localise(await response.text()));
    var path = readPath();
    mark(viewer, path);
    sizeToDiagram(viewer);
    fit(viewer);
    focusOnPath(viewer, path);
    wireZoom(viewer);
    body.dataset.diagram = "ready";
  }

  body.dataset.diagram = "loading";
  show().catch(fail);
})();
