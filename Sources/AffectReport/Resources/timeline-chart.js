// Affect's one timeline chart: SVG lines over stimulus time, with axes and a legend.
// The live dashboard draws it; reports embed this same file. No dependencies.
"use strict";

(function (global) {
  const SVG = "http://www.w3.org/2000/svg";

  // One colour per expression, in Emotion.allCases order, distinguishable in print and for
  // common colour-vision deficiencies (Okabe-Ito palette).
  const EXPRESSIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
  const COLOURS = {
    angry: "#D55E00", disgust: "#009E73", fear: "#CC79A7", happy: "#E69F00",
    sad: "#0072B2", surprise: "#56B4E9", neutral: "#7f7f7f", valence: "#000000",
  };

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  // Round tick steps: 1, 2 or 5 times a power of ten.
  function ticks(min, max, count) {
    const span = max - min;
    if (!(span > 0)) return [min];
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
    return out;
  }

  function formatSeconds(ms) {
    const s = ms / 1000;
    if (s < 60) return (Number.isInteger(s) ? s : s.toFixed(1)) + " s";
    const m = Math.floor(s / 60);
    const r = Math.round(s - m * 60);
    return m + ":" + String(r).padStart(2, "0");
  }

  // The closed outline of an interval band, split where the data has gaps.
  function bandPaths(band, x, y) {
    const runs = [];
    let run = [];
    for (const [t, low, high] of band) {
      if (low === null || low === undefined || high === null || high === undefined || !isFinite(low) || !isFinite(high)) {
        if (run.length) runs.push(run);
        run = [];
        continue;
      }
      run.push([t, low, high]);
    }
    if (run.length) runs.push(run);
    return runs.map((r) => {
      const upper = r.map(([t, , high]) => `${x(t).toFixed(1)} ${y(high).toFixed(1)}`);
      const lower = r.slice().reverse().map(([t, low]) => `${x(t).toFixed(1)} ${y(low).toFixed(1)}`);
      return "M" + upper.join("L") + "L" + lower.join("L") + "Z";
    });
  }

  // Draws `series` into `svg` (replacing what was there).
  //   series: [{name, points: [[t_ms, value or null], ...], colour?, band?: [[t_ms, low, high], ...], dash?}]
  //   A band is the 95% interval around the line, drawn underneath it.
  //   options: {yMin, yMax, yLabel, title, width, height, xMax?, xLabel?, xFormat?, xFloor?}
  //   The x axis is stimulus time (at least xFloor, 1 s, long) unless xLabel, xFormat and xFloor say
  //   otherwise (the calibration page draws confidence from 0 to 1 there).
  function drawTimeline(svg, series, options) {
    const o = Object.assign({ width: 720, height: 260, yMin: 0, yMax: 1, yLabel: "probability", title: "",
      xLabel: "stimulus time", xFormat: formatSeconds, xFloor: 1000 }, options);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", `0 0 ${o.width} ${o.height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("class", "timeline-chart");
    const margin = { left: 52, right: 110, top: o.title ? 26 : 10, bottom: 36 };
    const plotW = o.width - margin.left - margin.right;
    const plotH = o.height - margin.top - margin.bottom;
    let xMax = o.xMax || 0;
    for (const s of series) for (const p of s.points) if (p[0] > xMax) xMax = p[0];
    xMax = Math.max(xMax, o.xFloor);
    const x = (t) => margin.left + (t / xMax) * plotW;
    const y = (v) => margin.top + (1 - (v - o.yMin) / (o.yMax - o.yMin)) * plotH;

    if (o.title) element("text", { x: margin.left, y: 17, class: "chart-title" }, svg).textContent = o.title;
    const axes = element("g", { class: "axes" }, svg);
    for (const v of ticks(o.yMin, o.yMax, 4)) {
      element("line", { x1: margin.left, x2: margin.left + plotW, y1: y(v), y2: y(v), class: "grid" }, axes);
      element("text", { x: margin.left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, axes).textContent = v;
    }
    for (const t of ticks(0, xMax, 8)) {
      element("line", { x1: x(t), x2: x(t), y1: margin.top + plotH, y2: margin.top + plotH + 4, class: "axis" }, axes);
      element("text", { x: x(t), y: margin.top + plotH + 16, "text-anchor": "middle", class: "tick" }, axes).textContent = o.xFormat(t);
    }
    element("line", { x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH, class: "axis" }, axes);
    element("line", { x1: margin.left, x2: margin.left, y1: margin.top, y2: margin.top + plotH, class: "axis" }, axes);
    element("text", { x: margin.left + plotW / 2, y: o.height - 4, "text-anchor": "middle", class: "axis-label" }, axes).textContent = o.xLabel;
    element("text", { x: 12, y: margin.top + plotH / 2, "text-anchor": "middle", class: "axis-label",
      transform: `rotate(-90 12 ${margin.top + plotH / 2})` }, axes).textContent = o.yLabel;

    // Nothing is drawn outside the plot area.
    const clipID = "plot-" + Math.random().toString(36).slice(2);
    const clip = element("clipPath", { id: clipID }, element("defs", {}, svg));
    element("rect", { x: margin.left, y: margin.top, width: plotW, height: plotH }, clip);
    const bands = element("g", { class: "bands", "clip-path": `url(#${clipID})` }, svg);
    series.forEach((s) => {
      if (!s.band) return;
      const colour = s.colour || COLOURS[s.name] || "#333";
      for (const d of bandPaths(s.band, x, y)) {
        element("path", { d, fill: colour, "fill-opacity": 0.15, stroke: "none", class: "band", "data-series": s.name }, bands);
      }
    });
    const lines = element("g", { class: "series", "clip-path": `url(#${clipID})` }, svg);
    const legend = element("g", { class: "legend" }, svg);
    series.forEach((s, index) => {
      const colour = s.colour || COLOURS[s.name] || "#333";
      // A gap in the data (null) breaks the line rather than drawing through it.
      let path = "";
      let pen = false;
      for (const [t, v] of s.points) {
        if (v === null || v === undefined || !isFinite(v)) { pen = false; continue; }
        path += (pen ? "L" : "M") + x(t).toFixed(1) + " " + y(v).toFixed(1);
        pen = true;
      }
      element("path", { d: path || "M0 0", fill: "none", stroke: colour, "stroke-width": s.name === "valence" ? 2.5 : 1.6,
        "data-series": s.name, class: "line", "stroke-dasharray": s.dash ? "6 4" : "none" }, lines);
      const ly = margin.top + 6 + index * 17;
      element("rect", { x: o.width - margin.right + 12, y: ly - 8, width: 12, height: 12, fill: colour }, legend);
      element("text", { x: o.width - margin.right + 30, y: ly + 2, class: "legend-label" }, legend).textContent = s.name;
    });
    if (series.every((s) => s.points.length === 0)) {
      element("text", { x: margin.left + plotW / 2, y: margin.top + plotH / 2, "text-anchor": "middle", class: "empty" }, svg)
        .textContent = "no data yet";
    }
  }

  // A value as drawn: a number, or the mean of an estimate {mean, low, high, n}.
  function value(v) {
    if (v === null || v === undefined) return null;
    return typeof v === "object" ? v.mean : v;
  }

  // A series (with its interval band when asked and the values are estimates) from points
  // {t_ms, ...} and a function picking one value of a point.
  function seriesOf(name, points, pick, withBand) {
    const series = { name, points: points.map((p) => [p.t_ms, value(pick(p))]) };
    if (withBand) {
      series.band = points.map((p) => {
        const e = pick(p);
        return [p.t_ms, e && typeof e === "object" ? e.low : null, e && typeof e === "object" ? e.high : null];
      });
    }
    return series;
  }

  // Expression series from a session's points {t_ms, means: [7 values or null]} or an audience's bins
  // {t_ms, expressions: [7 estimates or null]}; expressions nobody reports are left out.
  function expressionSeries(points, withBands) {
    return EXPRESSIONS.map((name, i) =>
      seriesOf(name, points, (p) => (p.means ? p.means[i] : p.expressions ? p.expressions[i] : null), withBands),
    ).filter((s) => s.points.some((p) => p[1] !== null));
  }

  function valenceSeries(points, withBand) {
    return [seriesOf("valence", points, (p) => p.valence, withBand)];
  }

  global.AffectChart = { drawTimeline, expressionSeries, valenceSeries, seriesOf, EXPRESSIONS, COLOURS, formatSeconds };
})(window);
