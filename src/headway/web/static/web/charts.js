// Draws the charts of the objective and KPI pages with Chart.js (served from node_modules).
// Each <canvas data-chart="ID"> reads its data from <script type="application/json" id="ID">
// written by Django's json_script filter; the page already shows the numbers as text and
// tables, so without JavaScript nothing is lost but the picture.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;

  var css = getComputedStyle(document.documentElement);
  function colour(name, fallback) {
    return (css.getPropertyValue(name) || "").trim() || fallback;
  }
  var C = {
    fg: colour("--fg", "#1d232a"),
    muted: colour("--muted", "#5b6670"),
    line: colour("--line", "#dde2e7"),
    accent: colour("--accent", "#2457c5"),
    green: colour("--green", "#1e8e3e"),
    red: colour("--red", "#c5221f"),
    yellow: colour("--yellow", "#e0a800"),
    purple: "#7b3fe4",
  };
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // The page's language (<html lang>) and the chart's words in it (web/ui.html#chart_words).
  var LANG = document.documentElement.lang || "en";
  var WORDS = (function () {
    var el = document.getElementById("chart-words");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  })();
  function word(key, english) { return WORDS[key] || english; }

  function day(ms, withYear) {
    var d = new Date(ms);
    if (LANG !== "en") {
      var options = { day: "numeric", month: "short", timeZone: "UTC" };
      if (withYear) options.year = "numeric";
      return d.toLocaleDateString(LANG, options);
    }
    var text = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
    return withYear ? text + " " + d.getUTCFullYear() : text;
  }
  function number(value) {
    if (value === null || value === undefined) return "–";
    var abs = Math.abs(value);
    if (abs >= 1000) return Math.round(value).toLocaleString(LANG);
    if (LANG !== "en") return Number(value.toPrecision(4)).toLocaleString(LANG, { maximumFractionDigits: 20 });
    return String(Number(value.toPrecision(4)));
  }
  function xy(pairs) {
    return (pairs || []).map(function (p) { return { x: p[0], y: p[1] }; });
  }
  function flat(value, from, to) {
    return [{ x: from, y: value }, { x: to, y: value }];
  }

  // Shaded warning and critical bands, drawn under the data.
  var bands = {
    id: "headwayBands",
    beforeDatasetsDraw: function (chart, _args, options) {
      if (!options || !options.direction) return;
      var y = chart.scales.y, area = chart.chartArea, ctx = chart.ctx;
      var top = y.max, bottom = y.min, up = options.direction === "up";
      function shade(from, to, fill) {
        if (from === null || to === null) return;
        var a = y.getPixelForValue(Math.min(Math.max(from, bottom), top));
        var b = y.getPixelForValue(Math.min(Math.max(to, bottom), top));
        ctx.save();
        ctx.fillStyle = fill;
        ctx.fillRect(area.left, Math.min(a, b), area.right - area.left, Math.abs(b - a));
        ctx.restore();
      }
      var criticalFill = "rgba(197, 34, 31, 0.10)", warningFill = "rgba(224, 168, 0, 0.14)";
      // One band set per step of a target schedule (x0..x1), or one across the chart.
      var segments = options.segments || [{ x0: null, x1: null, warning: options.warning, critical: options.critical }];
      segments.forEach(function (s) {
        var left = s.x0 === null ? area.left : Math.max(area.left, chart.scales.x.getPixelForValue(s.x0));
        var right = s.x1 === null ? area.right : Math.min(area.right, chart.scales.x.getPixelForValue(s.x1));
        if (right <= left) return;
        var warning = s.warning, critical = s.critical;
        function band(from, to, fill) {
          if (from === null || to === null) return;
          var a = y.getPixelForValue(Math.min(Math.max(from, bottom), top));
          var b = y.getPixelForValue(Math.min(Math.max(to, bottom), top));
          ctx.save();
          ctx.fillStyle = fill;
          ctx.fillRect(left, Math.min(a, b), right - left, Math.abs(b - a));
          ctx.restore();
        }
        if (up) {
          if (critical !== null) band(bottom, critical, criticalFill);
          if (warning !== null) band(critical !== null ? critical : bottom, warning, warningFill);
        } else {
          if (critical !== null) band(critical, top, criticalFill);
          if (warning !== null) band(warning, critical !== null ? critical : top, warningFill);
        }
      });
    },
  };

  // A thin vertical line at "now" on key-result charts.
  var nowLine = {
    id: "headwayNow",
    afterDatasetsDraw: function (chart, _args, options) {
      if (!options || !options.at) return;
      var x = chart.scales.x.getPixelForValue(options.at), area = chart.chartArea, ctx = chart.ctx;
      if (x < area.left || x > area.right) return;
      ctx.save();
      ctx.strokeStyle = C.muted;
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(x, area.top);
      ctx.lineTo(x, area.bottom);
      ctx.stroke();
      ctx.fillStyle = C.muted;
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillText("today", Math.min(x + 4, area.right - 30), area.top + 10);
      ctx.restore();
    },
  };

  function base(unit, from, to, withYear) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          type: "linear",
          min: from,
          max: to,
          grid: { color: C.line },
          ticks: { color: C.muted, maxTicksLimit: 7, callback: function (v) { return day(v, withYear); } },
        },
        y: {
          grid: { color: C.line },
          ticks: { color: C.muted, callback: function (v) { return number(v); } },
          title: { display: !!unit, text: unit, color: C.muted },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: function (items) { return items.length ? day(items[0].parsed.x, true) : ""; },
            label: function (item) {
              return item.dataset.label + ": " + number(item.parsed.y) + (unit ? " " + unit : "");
            },
          },
        },
      },
    };
  }

  function keyResult(canvas, d) {
    var values = xy(d.values);
    var datasets = [
      {
        label: word("value", "Value"), data: values, borderColor: C.accent, backgroundColor: C.accent,
        borderWidth: 2.5, pointRadius: 3, tension: 0,
      },
    ];
    if (d.pace) {
      datasets.push({
        label: word("pace", "Expected pace"), data: xy(d.pace), borderColor: C.fg, borderDash: [5, 4],
        borderWidth: 1.5, pointRadius: 0,
      });
    } else if (d.target !== null) {
      datasets.push({
        label: word("target", "Target"), data: flat(d.target, d.start, d.end), borderColor: C.green,
        borderWidth: 1.5, pointRadius: 0,
      });
    }
    if (d.forecast) {
      datasets.push({
        label: word("forecast", "Forecast"), data: xy(d.forecast), borderColor: C.purple, borderDash: [3, 3],
        borderWidth: 2, pointRadius: [0, 4], pointBackgroundColor: C.purple,
      });
    }
    if (d.range) {
      // The probabilistic forecast's 80% range of the end value, as a bar at the end.
      datasets.push({
        label: word("range", "80% range"), data: xy(d.range), borderColor: C.purple, backgroundColor: C.purple,
        borderWidth: 6, pointRadius: 0, borderCapStyle: "round",
      });
    }
    var options = base(d.unit, d.start, d.end, false);
    options.plugins.headwayNow = { at: d.now };
    return new window.Chart(canvas, { type: "line", data: { datasets: datasets }, options: options, plugins: [nowLine] });
  }

  function kpi(canvas, d) {
    var values = xy(d.values);
    var from = values.length ? values[0].x : 0;
    var to = values.length ? values[values.length - 1].x : 1;
    if (from === to) { from -= 86400000 * 7; to += 86400000 * 7; }
    var datasets = [
      {
        label: word("value", "Value"), data: values, borderColor: C.accent, backgroundColor: C.accent,
        borderWidth: 2, pointRadius: values.length > 60 ? 0 : 2.5, tension: 0,
      },
    ];
    var steps = d.schedule || [];
    function stepped(index) {
      var points = [];
      steps.forEach(function (s, i) {
        var end = i + 1 < steps.length ? steps[i + 1][0] : to;
        if (s[index] === null) { points.push({ x: s[0], y: null }); return; }
        points.push({ x: s[0], y: s[index] }, { x: end, y: s[index] });
      });
      return points;
    }
    if (steps.length) {
      datasets.push({ label: word("target_steps", "Target (by period)"), data: stepped(1), borderColor: C.green, borderWidth: 1.5, pointRadius: 0, spanGaps: false });
    } else if (d.target !== null) {
      datasets.push({ label: word("target", "Target"), data: flat(d.target, from, to), borderColor: C.green, borderWidth: 1.5, pointRadius: 0 });
    }
    if (d.benchmark !== null) {
      datasets.push({ label: word("benchmark", "Benchmark"), data: flat(d.benchmark, from, to), borderColor: C.muted, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
    }
    if (d.anomalies && d.anomalies.length) {
      datasets.push({
        label: word("anomaly", "Anomaly"), type: "scatter", data: xy(d.anomalies), borderColor: C.purple,
        backgroundColor: "rgba(123, 63, 228, 0.25)", pointRadius: 7, pointBorderWidth: 2, showLine: false,
      });
    }
    var levels = d.values.map(function (p) { return p[1]; });
    var shown = steps.length ? [d.benchmark] : [d.target, d.warning, d.critical, d.benchmark];
    steps.forEach(function (s) { shown.push(s[1], s[2], s[3]); });
    shown.forEach(function (v) { if (v !== null) levels.push(v); });
    var low = Math.min.apply(null, levels), high = Math.max.apply(null, levels);
    var pad = (high - low) * 0.08 || Math.abs(high) * 0.1 || 1;
    var options = base(d.unit, from, to, true);
    options.scales.y.suggestedMin = low - pad;
    options.scales.y.suggestedMax = high + pad;
    options.plugins.headwayBands = {
      direction: d.direction, warning: d.warning, critical: d.critical,
      segments: steps.length ? steps.map(function (s, i) {
        return { x0: i ? s[0] : null, x1: i + 1 < steps.length ? steps[i + 1][0] : null, warning: s[2], critical: s[3] };
      }) : null,
    };
    return new window.Chart(canvas, { type: "line", data: { datasets: datasets }, options: options, plugins: [bands] });
  }

  function draw() {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source || canvas.dataset.drawn) return;
      var data = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      if (data.type === "kpi") kpi(canvas, data);
      else keyResult(canvas, data);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
