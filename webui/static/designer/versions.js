/*
 * The versions page: versions A and B side by side in two bpmn-js navigated viewers, with the
 * differences from #diff-data ({a: {id: "removed"|"changed"}, b: {id: "added"|"changed"}}) marked
 * cf-added / cf-removed / cf-changed. A long diagram opens at a readable scale around the first
 * difference; moving or zooming one diagram moves the other with it, so the same place is compared.
 * body[data-diff] is "ready" once both are shown ("error" on failure).
 */
(function () {
  "use strict";

  var READABLE = 0.75;
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

  /** Fit; if that is too small to read, a readable scale centred on the first marked element. */
  function frame(viewer, side) {
    var canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= READABLE) { return; }
    var registry = viewer.get("elementRegistry");
    var first = Object.keys(marks[side] || {}).map(function (id) { return registry.get(id); })
      .filter(function (e) { return e && e.width; })[0];
    var outer = canvas.viewbox().outer;
    var width = outer.width / READABLE;
    var height = outer.height / READABLE;
    var inner = canvas.viewbox().inner;
    var cx = first ? first.x + first.width / 2 : inner.x + width / 2;
    var cy = first ? first.y + first.height / 2 : inner.y + height / 2;
    canvas.viewbox({ x: cx - width / 2, y: cy - height / 2, width: width, height: height });
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

  Promise.all([show(document.getElementById("diagram-a")), show(document.getElementById("diagram-b"))])
    .then(function (viewers) {
      frame(viewers[1], "b");
      frame(viewers[0], "a");
      var boxB = viewers[1].get("canvas").viewbox();
      if (Object.keys(marks.b || {}).length) { // both on B's frame: the same place side by side
        viewers[0].get("canvas").viewbox({ x: boxB.x, y: boxB.y, width: boxB.width, height: boxB.height });
      }
      couple(viewers[0], viewers[1]);
      window.cadreflowDiffViewers = viewers;
      document.body.dataset.diff = "ready";
    })
    .catch(function (error) {
      document.body.dataset.diff = "error";
      if (window.console) { window.console.error(error); }
    });
})();
