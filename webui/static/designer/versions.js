/*
 * The versions page: versions A and B side by side in two bpmn-js navigated viewers, with the
 * differences from #diff-data ({a: {id: "removed"|"changed"}, b: {id: "added"|"changed"}}) marked
 * cf-added / cf-removed / cf-changed. A long diagram opens at a readable scale around the first
 * difference; moving or zooming one diagram moves the other with it, so the same place is compared.
 * Clicking a change in the list centres both diagrams on its element.
 * body[data-diff] is "ready" once both are shown ("error" on failure).
 */
(function () {
  "use strict";

  var READABLE = 0.75; // labels are readable from this scale up
  var MIN_SCALE = 0.45; // below it, framing all the changes shows none of them well
  var PAD = 60;
  var marks = JSON.parse(document.getElementById("diff-data").textContent);

  async function show(container) {
    var viewer = new window.BpmnJS({ container: container });
    var response = await fetch(container.getAttribute("data-src"), { credentials: "same-origin" });
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    await viewer.importXML(await response.text());
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var side = marks[container.getAttribute("data-side")] || {};
    Object.keys(side).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, "cf-" + side[id]); }
    });
    return viewer;
  }

  /**
   * Fit the whole diagram if it is readable so; else frame every marked element (at most at a
   * readable scale, never below MIN_SCALE); if they lie too far apart, centre on the first.
   */
  function frame(viewer, side) {
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= READABLE) { return; }
    var registry = viewer.get("elementRegistry");
    var marked = Object.keys(marks[side] || {}).map(function (id) { return registry.get(id); })
      .filter(function (e) { return e && (e.width || e.waypoints); });
    var outer = canvas.viewbox().outer;
    var inner = canvas.viewbox().inner;
    var box = bounds(marked) || { x: inner.x, y: inner.y, width: outer.width, height: outer.height };
    var scale = Math.min(READABLE, (outer.width - 2 * PAD) / box.width, (outer.height - 2 * PAD) / box.height);
    if (scale < MIN_SCALE) {
      box = bounds(marked.slice(0, 1));
      scale = READABLE;
    }
    var width = outer.width / scale;
    var height = outer.height / scale;
    canvas.viewbox({
      x: box.x + box.width / 2 - width / 2, y: box.y + box.height / 2 - height / 2, width: width, height: height,
    });
  }

  function bounds(elements) {
    if (!elements.length) { return null; }
    var xs = [];
    var ys = [];
    elements.forEach(function (e) {
      (e.waypoints || [{ x: e.x, y: e.y }, { x: e.x + e.width, y: e.y + e.height }]).forEach(function (point) {
        xs.push(point.x);
        ys.push(point.y);
      });
    });
    var x = Math.min.apply(null, xs);
    var y = Math.min.apply(null, ys);
    return { x: x, y: y, width: Math.max(Math.max.apply(null, xs) - x, 1), height: Math.max(Math.max.apply(null, ys) - y, 1) };
  }

  function couple(one, other) {
    var busy = false;
    function follow(from, to) {
      from.on("canvas.viewbox.changed", function (event) {
        if (busy) { return; }
        busy = true;
        var box = event.viewbox;
        to.get("canvas").viewbox({ x: box.x, y: box.y, width: box.width, height: box.height });
        busy = false;
      });
    }
    follow(one, other);
    follow(other, one);
  }

  /** A change in the list, clicked: both diagrams centre on its element (where it is drawn). */
  function wireChangeList(viewers) {
    document.querySelectorAll("#change-list li[data-element]").forEach(function (item) {
      var id = item.getAttribute("data-element");
      var viewer = viewers.filter(function (v) { return v.get("elementRegistry").get(id); }).pop();
      if (!viewer) { return; }
      item.classList.add("on-diagram");
      item.addEventListener("click", function () {
        viewer.get("canvas").scrollToElement(viewer.get("elementRegistry").get(id));
      });
    });
  }

  Promise.all([show(document.getElementById("diagram-a")), show(document.getElementById("diagram-b"))])
    .then(function (viewers) {
      frame(viewers[1], "b");
      frame(viewers[0], "a");
      var boxB = viewers[1].get("canvas").viewbox();
      if (Object.keys(marks.b || {}).length) { // both on B's frame: the same place side by side
        viewers[0].get("canvas").viewbox({ x: boxB.x, y: boxB.y, width: boxB.width, height: boxB.height });
      }
      couple(viewers[0], viewers[1]);
      wireChangeList(viewers);
      window.cadreflowDiffViewers = viewers;
      document.body.dataset.diff = "ready";
    })
    .catch(function (error) {
      document.body.dataset.diff = "error";
      if (window.console) { window.console.error(error); }
    });
})();
