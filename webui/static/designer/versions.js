/*
 * The versions page: versions A and B side by side in two bpmn-js navigated viewers, with the
 * differences from #diff-data ({a: {id: "removed"|"changed"}, b: {id: "added"|"changed"}}) marked
 * cf-added / cf-removed / cf-changed. body[data-diff] is "ready" once both are shown ("error" on failure).
 */
(function () {
  "use strict";

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
    canvas.zoom("fit-viewport", "auto");
    return viewer;
  }

  Promise.all([show(document.getElementById("diagram-a")), show(document.getElementById("diagram-b"))])
    .then(function (viewers) {
      window.cadreflowDiffViewers = viewers;
      document.body.dataset.diff = "ready";
    })
    .catch(function (error) {
      document.body.dataset.diff = "error";
      if (window.console) { window.console.error(error); }
    });
})();
