/*
 * The batch overview's funnel charts: one horizontal bar chart per batch (canvas#funnel-<case id>)
 * from the JSON in #batch-funnels ({datasetLabel, batches: [{caseId, title, steps, labels, counts}]}).
 * The numbers are also in a plain table beside each chart. When every chart is drawn,
 * document.body.dataset.charts is "ready" (browser tests wait for it); "error" if Chart.js is missing.
 * The charts are window.cadreflowCharts (case id → Chart).
 */
(function () {
  "use strict";

  var body = document.body;
  var source = document.getElementById("batch-funnels");
  if (!source) {
    return;
  }
  if (typeof window.Chart !== "function") {
    body.dataset.charts = "error";
    return;
  }
  var data = JSON.parse(source.textContent);
  var charts = {};
  window.cadreflowCharts = charts;

  // Lighter towards the end of the funnel, the last step (admitted) in the "done" green.
  var COLOURS = ["#2e5aac", "#3565b8", "#3d70c2", "#4a7dcb", "#5b8bd3", "#6f9adb", "#86aae2", "#1e7b34"];

  // The count at the end of each bar (the same numbers as the table).
  var barValues = {
    id: "cadreflowBarValues",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var meta = chart.getDatasetMeta(0);
      ctx.save();
      ctx.font = "600 12px 'Liberation Sans', 'Noto Sans CJK SC', sans-serif";
      ctx.fillStyle = "#1f2933";
      ctx.textBaseline = "middle";
      meta.data.forEach(function (bar, i) {
        ctx.fillText(String(chart.data.datasets[0].data[i]), bar.x + 6, bar.y);
      });
      ctx.restore();
    },
  };

  data.batches.forEach(function (batch) {
    var canvas = document.getElementById("funnel-" + batch.caseId);
    if (!canvas) {
      return;
    }
    var max = Math.max.apply(null, batch.counts.concat([1]));
    charts[batch.caseId] = new window.Chart(canvas, {
      type: "bar",
      plugins: [barValues],
      data: {
        labels: batch.labels,
        datasets: [{
          label: data.datasetLabel,
          data: batch.counts,
          backgroundColor: batch.counts.map(function (_count, i) { return COLOURS[i % COLOURS.length]; }),
          borderRadius: 3,
          maxBarThickness: 26,
        }],
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { right: 28 } }, // room for the number right of the longest bar
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: function (items) { return items.length ? items[0].label : ""; } } },
        },
        scales: {
          x: { beginAtZero: true, suggestedMax: max, ticks: { precision: 0, stepSize: max > 12 ? 2 : 1 }, grid: { color: "#e4e7eb" } },
          y: { grid: { display: false }, ticks: { font: { size: 13 } } },
        },
      },
    });
  });
  body.dataset.charts = "ready";
})();
