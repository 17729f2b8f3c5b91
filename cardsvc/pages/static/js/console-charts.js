// Dashboard charts: the series come from the JSON endpoint named by data-charts-src, each
// <canvas data-chart="key" data-type="bar|line"> draws one of them with Chart.js.
(function () {
  "use strict";

  var PALETTE = ["#c8102e", "#1f6feb", "#1a7f37", "#9a6700", "#8250df"];
  // A series that carries a meaning keeps its colour: approvals green, refusals red.
  var TONES = { good: "#1a7f37", bad: "#cf222e", neutral: "#1f6feb" };

  function config(type, series) {
    var money = false;
    var datasets = series.datasets.map(function (d, i) {
      var color = TONES[d.tone] || PALETTE[i % PALETTE.length];
      if (d.yAxisID === "money") money = true;
      return {
        label: d.label,
        data: d.data,
        yAxisID: d.yAxisID || "y",
        type: d.yAxisID === "money" ? "line" : undefined,
        borderColor: color,
        backgroundColor: type === "bar" && d.yAxisID !== "money" ? color + "cc" : color,
        borderDash: d.dashed ? [6, 4] : undefined,
        pointRadius: series.labels.length > 60 ? 0 : 2,
        tension: 0.2,
        fill: false
      };
    });
    var scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (money) scales.money = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
    return {
      type: type,
      data: { labels: series.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: scales
      }
    };
  }

  function draw(root, data) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var series = data[canvas.dataset.chart];
      if (!series) return;
      new window.Chart(canvas, config(canvas.dataset.type || "bar", series));
      canvas.dataset.drawn = "true";
    });
    root.dataset.ready = "true";
  }

  function load() {
    var root = document.querySelector("[data-charts-src]");
    if (!root || !window.Chart) return;
    fetch(root.dataset.chartsSrc, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) { draw(root, data); })
      .catch(function () {
        var status = document.getElementById("charts-status");
        var en = document.documentElement.lang === "en";
        if (status) status.textContent = en ? "The charts could not be loaded." : "图表数据加载失败。";
      });
  }

  document.addEventListener("DOMContentLoaded", load);
})();
