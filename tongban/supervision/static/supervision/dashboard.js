/* Draws each dashboard table as an ECharts chart and toggles chart / table views.
   The data is the tables the page also prints (json_script "dashboard-data"). */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var instances = {};

  function isTotal(row) { return row[0] === "合计"; }

  function option(table) {
    var spec = table.chart || {};
    var rows = table.rows.filter(function (row) { return !isTotal(row); });
    if (spec.limit) { rows = rows.slice(0, spec.limit); }  // the busiest rows; the table has all
    var categories = rows.map(function (row) { return String(row[0]); });
    var columns = spec.columns || [];
    if (spec.kind === "pie") {
      return {
        tooltip: { trigger: "item" },
        legend: { type: "scroll", bottom: 0 },
        series: [{
          type: "pie", radius: ["35%", "65%"],
          data: rows.map(function (row) { return { name: String(row[0]), value: row[columns[0]] }; })
        }]
      };
    }
    var series = columns.map(function (index) {
      var item = {
        name: table.headers[index],
        type: spec.kind === "line" ? "line" : "bar",
        data: rows.map(function (row) { return row[index] === null ? "-" : row[index]; })
      };
      if (spec.kind === "stack") { item.stack = "total"; }
      if (spec.kind === "line") { item.smooth = true; }
      return item;
    });
    return {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 56 },
      xAxis: { type: "category", data: categories, axisLabel: { rotate: categories.length > 8 ? 35 : 0 } },
      yAxis: { type: "value" },
      series: series
    };
  }

  charts.forEach(function (table) {
    var node = document.getElementById("chart-" + table.key);
    if (!node) { return; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(option(table));
    instances[table.key] = chart;
  });

  document.querySelectorAll(".chart-card").forEach(function (panel) {
    panel.querySelectorAll(".view-toggle").forEach(function (button) {
      button.addEventListener("click", function () {
        var table = button.getAttribute("data-view") === "table";
        panel.querySelector(".chart").hidden = table;
        panel.querySelector(".chart-table").hidden = !table;
        panel.querySelectorAll(".view-toggle").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        var chart = instances[panel.getAttribute("data-key")];
        if (!table && chart) { chart.resize(); }
      });
    });
  });

  var picker = document.getElementById("unit-picker");
  if (picker) {
    picker.addEventListener("change", function () { picker.form.submit(); });
  }
  window.addEventListener("resize", function () {
    Object.keys(instances).forEach(function (key) { instances[key].resize(); });
  });
})();
