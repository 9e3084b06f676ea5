// The console's live sessions page: reads /api/v1/live/events (Server-Sent Events over fetch) and
// draws sessions, their health and timelines with AffectChart.
"use strict";

const $ = (id) => document.getElementById(id);
const live = { sessions: new Map(), audiences: new Map(), selected: null, drawQueued: false };

function keyOf(stimulus) { return stimulus || ""; }

function apply(name, data) {
  switch (name) {
    case "snapshot":
      live.sessions.clear();
      live.audiences.clear();
      for (const s of data.sessions) live.sessions.set(s.status.session, { status: s.status, points: s.points });
      for (const a of data.audiences) live.audiences.set(keyOf(a.stimulus), a.points);
      break;
    case "status": {
      const entry = live.sessions.get(data.session) || { status: data, points: [] };
      entry.status = data;
      live.sessions.set(data.session, entry);
      break;
    }
    case "points": {
      const entry = live.sessions.get(data.session);
      if (entry) entry.points.push(...data.points);
      break;
    }
    case "removed":
      live.sessions.delete(data.session);
      if (live.selected === data.session) live.selected = null;
      break;
    case "audience":
      live.audiences.set(keyOf(data.stimulus), data.points);
      break;
  }
  queueDraw();
}

function queueDraw() {
  if (live.drawQueued) return;
  live.drawQueued = true;
  requestAnimationFrame(() => { live.drawQueued = false; draw(); });
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

const number = (v, digits) => (v === null || v === undefined ? "–" : v.toFixed(digits));

function draw() {
  const body = $("sessions").querySelector("tbody");
  body.textContent = "";
  const sessions = [...live.sessions.values()].sort((a, b) => b.status.started_at - a.status.started_at);
  $("no-sessions").classList.toggle("hidden", sessions.length > 0);
  if (!live.selected || !live.sessions.has(live.selected)) {
    const running = sessions.find((s) => s.status.state === "running");
    live.selected = (running || sessions[0] || { status: {} }).status.session || null;
  }
  for (const { status } of sessions) {
    const row = document.createElement("tr");
    row.className = "session-row" + (status.session === live.selected ? " selected" : "");
    row.dataset.session = status.session;
    row.dataset.state = status.state;
    row.addEventListener("click", () => { live.selected = status.session; queueDraw(); });
    cell(row, status.session);
    cell(row, status.study);
    cell(row, status.stimulus || "–");
    cell(row, status.mode);
    cell(row, status.state + (status.reason ? ` (${status.reason})` : ""), `state-${status.state}`);
    cell(row, number(status.analysed_fps, 1));
    cell(row, number(status.requested_fps, 1));
    cell(row, `${number(status.latency_p50_ms, 0)} / ${number(status.latency_p95_ms, 0)}`);
    cell(row, String(status.dropped));
    cell(row, String(status.records_written));
    cell(row, status.media_ms === null || status.media_ms === undefined ? "–" : AffectChart.formatSeconds(status.media_ms));
    cell(row, status.node || "–");
    body.appendChild(row);
  }
  const selected = live.sessions.get(live.selected);
  $("charts").classList.toggle("hidden", !selected);
  if (!selected) return;
  const points = selected.points;
  AffectChart.drawTimeline($("session-chart"), AffectChart.expressionSeries(points),
    { title: `Session ${selected.status.session}: expression probabilities`, yLabel: "probability" });
  AffectChart.drawTimeline($("session-valence"), AffectChart.valenceSeries(points),
    { title: "Valence (unpleasant −1 to pleasant +1)", yMin: -1, yMax: 1, yLabel: "valence", height: 180 });
  const audience = live.audiences.get(keyOf(selected.status.stimulus)) || [];
  const sessionsBehind = audience.reduce((m, p) => Math.max(m, p.n), 0);
  AffectChart.drawTimeline($("audience-chart"), AffectChart.expressionSeries(audience),
    { title: `Audience of ${selected.status.stimulus || "sessions without a stimulus"}: mean over up to ${sessionsBehind} session(s)`,
      yLabel: "mean probability" });
  // Studies that measure faces: the audience attention curve (share facing the screen with open eyes).
  const attending = audience.some((p) => p.attention);
  $("audience-attention").classList.toggle("hidden", !attending);
  if (attending) {
    AffectChart.drawTimeline($("audience-attention"),
      [Object.assign(AffectChart.seriesOf("attention", audience, (p) => p.attention, true), { colour: "#1f3a5f" })],
      { title: "Audience attention (share of frames facing the screen with open eyes; band: 95% interval)",
        yLabel: "share", height: 180 });
  }
}

// The page is inside the console: the stream is read with the console's sign-in (its cookie), so
// it shows the sessions of the studies this person reaches.
async function connect() {
  const response = await fetch("/api/v1/live/events", { credentials: "same-origin" });
  if (response.status === 401) {
    location.assign("/sign-in?next=/live");
    return;
  }
  if (!response.ok) {
    $("connection").textContent = `The live feed could not be opened (${response.status}).`;
    return;
  }
  $("connection").textContent = "live";
  document.body.dataset.state = "live";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) apply(name, JSON.parse(data));
    }
  }
  $("connection").textContent = "disconnected: reload to reconnect";
  document.body.dataset.state = "disconnected";
}

document.addEventListener("DOMContentLoaded", connect);
