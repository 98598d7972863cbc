/* The daily / cumulative chart of a campaign page, drawn from the json_script data the table
   view shows too. ECharts is the vendored copy served as a static file. */
(function () {
  "use strict";
  var node = document.getElementById("progress-data");
  var box = document.getElementById("progress-chart");
  if (!node || !box || typeof echarts === "undefined") return;
  var data = JSON.parse(node.textContent);
  var chart = echarts.init(box);
  var names = { accepted: "受理", issued: "签发", handed_over: "发放" };

  function option(kind) {
    var prefix = kind === "cumulative" ? "cum_" : "";
    var series = Object.keys(names).map(function (key) {
      return { name: names[key], type: kind === "cumulative" ? "line" : "bar", data: data[prefix + key] };
    });
    if (kind === "cumulative" && data.target) {
      series[2].markLine = { symbol: "none", data: [{ yAxis: data.target, name: "任务数" }], label: { formatter: "任务数 {c}" } };
    }
    return {
      tooltip: { trigger: "axis" },
      legend: { data: Object.values(names) },
      grid: { left: 60, right: 30, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: [{ type: "slider", bottom: 10 }],
      series: series
    };
  }

  chart.setOption(option("daily"));
  document.querySelectorAll(".chart-tabs a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll(".chart-tabs a").forEach(function (other) { other.removeAttribute("aria-current"); });
      link.setAttribute("aria-current", "page");
      chart.setOption(option(link.dataset.series), true);
    });
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
