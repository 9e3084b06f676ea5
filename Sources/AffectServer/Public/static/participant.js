// The participant page: notice, consent, camera, stimulus, and frames to the server over a
// WebSocket at the rate the server asks for. Frames are JPEGs made in memory and sent; nothing is
// kept in the page either.
"use strict";

const secret = location.pathname.split("/")[2] || "";
const base = `/p/${secret}`;
const $ = (id) => document.getElementById(id);
const state = { briefing: null, stream: null, socket: null, fps: 2, sent: 0, paused: false, started: 0, timer: null, ended: false,
  readout: [] };

function setState(name, message, isError) {
  document.body.dataset.state = name;
  $("message").textContent = message || "";
  $("message").className = isError ? "error" : "status";
}

async function errorText(response) {
  try {
    const body = await response.json();
    return (body.error && body.error.message) || response.statusText;
  } catch (_) {
    return response.statusText;
  }
}

// What stands between this page and the camera, in words a participant can act on. Checked before
// consent, so nobody agrees to something the browser will not let happen.
const CAMERA_PROBLEMS = {
  insecure: () => `This page was opened at an address your browser does not trust with a camera (${location.origin}). ` +
    "Browsers give the camera only to secure (https://) pages. Nothing has been recorded. " +
    "Please ask the researcher for a link that starts with https://.",
  unsupported: () => "This browser cannot give the page a camera. Please open the link in a current Chrome, Edge, " +
    "Firefox or Safari.",
  blocked: () => "Your browser blocks this page from using the camera. Allow the camera for this site (the camera " +
    "icon in the address bar, or the browser's site settings), then reload the page.",
  none: () => "No camera was found. Connect a camera, then reload the page.",
  busy: () => "The camera is in use by another program (a video call, for example). Close it, then reload the page.",
};

function showCameraProblem(kind) {
  $("camera-problem").dataset.problem = kind;
  $("camera-problem").textContent = CAMERA_PROBLEMS[kind]();
  $("camera-problem").classList.remove("hidden");
  setState("camera-problem", "The camera cannot be used from this page.", true);
}

/// The problem found before consent, or null: the address, the browser, a blocked permission, no camera.
async function cameraProblemBeforeConsent() {
  if (!window.isSecureContext) return "insecure";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "unsupported";
  try {
    if (navigator.permissions) {
      const permission = await navigator.permissions.query({ name: "camera" });
      if (permission.state === "denied") return "blocked";
    }
  } catch (_) { /* a browser that cannot be asked about the camera's permission says so at getUserMedia */ }
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    if (!devices.some((device) => device.kind === "videoinput")) return "none";
  } catch (_) { /* likewise */ }
  return null;
}

/// What getUserMedia's error means for the participant.
function cameraProblemFromError(error) {
  switch (error && error.name) {
    case "NotAllowedError": case "SecurityError": return "blocked";
    case "NotFoundError": case "OverconstrainedError": return "none";
    case "NotReadableError": case "AbortError": return "busy";
    default: return null;
  }
}

async function loadBriefing() {
  const response = await fetch(`${base}/briefing`);
  if (!response.ok) return setState("unavailable", `This link cannot be used: ${await errorText(response)}.`, true);
  const briefing = await response.json();
  state.briefing = briefing;
  $("study-name").textContent = briefing.study;
  $("notice").textContent = briefing.notice;
  for (const expression of briefing.expressions) {
    const label = document.createElement("label");
    label.className = "optout";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = expression;
    box.name = "exclude";
    label.append(box, " " + expression);
    $("optouts").appendChild(label);
  }
  $("briefing").classList.remove("hidden");
  setState("briefing", "Please read the notice below.");
  const problem = await cameraProblemBeforeConsent();
  if (problem) {
    // Consent stays closed: agreeing cannot make the camera work.
    $("agree").disabled = true;
    $("consent").disabled = true;
    showCameraProblem(problem);
  }
}

async function giveConsent() {
  const excluded = [...document.querySelectorAll("input[name=exclude]:checked")].map((b) => b.value);
  $("consent").disabled = true;
  const response = await fetch(`${base}/consent`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ agreed: true, excluded_emotions: excluded }),
  });
  if (!response.ok) return setState("error", `Consent could not be recorded: ${await errorText(response)}.`, true);
  document.body.dataset.participant = (await response.json()).participant_id;
  $("briefing").classList.add("hidden");
  $("capture").classList.remove("hidden");
  setState("consented", "Consent recorded. Allow the camera, then press Start.");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    $("preview").srcObject = state.stream;
    $("start").disabled = false;
    setState("camera", "Camera ready. Press Start when you are ready to watch.");
  } catch (error) {
    const problem = cameraProblemFromError(error);
    if (problem) {
      showCameraProblem(problem);
      $("message").textContent += " You can withdraw below.";
    } else {
      setState("error", `The camera could not be opened (${error.name}). You can withdraw below.`, true);
    }
  }
}

function mediaTime() {
  if (state.briefing && state.briefing.stimulus_id) return $("stimulus").currentTime * 1000;
  return performance.now() - state.started;
}

function start() {
  $("start").disabled = true;
  connect();
}

// Close codes after which the session can go on over a new connection: the network dropped (1006),
// the server went away or restarted (1001, 1012), or was briefly overloaded (1013).
const RESUMABLE = [1001, 1006, 1012, 1013];
const MAX_RECONNECTS = 30;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${base}/ws`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") return;
    const message = JSON.parse(event.data);
    if (message.fps) {
      state.fps = message.fps;
      $("rate").textContent = message.fps.toFixed(1);
    }
    if (message.type === "ready") document.body.dataset.session ? resumed() : begin(message);
    if (message.type === "readout") showReadout(message.points);
    if (message.type === "pause") hold(message.reason);
    if (message.type === "resume") release();
  };
  socket.onclose = async (event) => {
    if (state.ended) return;
    if (event.code === 1000 && /withdrawn/.test(event.reason)) return stopCapture();
    if (document.body.dataset.session && RESUMABLE.includes(event.code) && (state.reconnects || 0) < MAX_RECONNECTS) {
      // The stimulus plays on; frames are sent again once the server has the session back.
      state.reconnects = (state.reconnects || 0) + 1;
      setState("reconnecting", "The connection was lost. Reconnecting; the video goes on.");
      return setTimeout(connect, 1000);
    }
    stopCapture();
    if (!document.body.dataset.session) {
      // Refused before it opened: a browser does not show a refused handshake's answer to the page,
      // so ask the same address plainly; the server gives the same status and reason.
      const response = await fetch(`${base}/ws`).catch(() => null);
      const why = response && !response.ok ? await errorText(response) : "the server could not be reached";
      return setState("closed", `The session could not start: ${why}.`, true);
    }
    const reason = event.reason || "the connection was lost";
    setState("closed", `The session stopped: ${reason} (code ${event.code}).`, event.code !== 1000);
  };
}

function resumed() {
  state.reconnects = 0;
  setState(state.paused ? "paused" : "capturing", state.paused ? "Paused: nothing is sent." : "Watching. Your expressions are being estimated.");
  schedule();
}

async function begin(ready) {
  document.body.dataset.session = ready.session;
  state.started = performance.now();
  $("pause").disabled = false;
  if (state.briefing.stimulus_id) {
    const video = $("stimulus");
    video.src = `${base}/stimulus`;
    video.classList.remove("hidden");
    video.onended = finish;
    try {
      await video.play();
    } catch (error) {
      return setState("error", `The video could not play (${error.name}).`, true);
    }
  }
  setState("capturing", "Watching. Your expressions are being estimated.");
  schedule();
}

function showReadout(points) {
  state.readout.push(...points);
  state.readout.sort((a, b) => a.t_ms - b.t_ms);
  $("readout").classList.remove("hidden");
  AffectChart.drawTimeline($("readout-chart"), AffectChart.expressionSeries(state.readout),
    { title: "Your estimated expressions", height: 220 });
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(sendFrame, 1000 / Math.max(0.5, state.fps));
}

let lastMedia = -1;
const canvas = document.createElement("canvas");

async function sendFrame() {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || state.ended) return;
  const preview = $("preview");
  const media = mediaTime();
  // Nothing is sent while paused, and never twice for one moment of the stimulus; a slow
  // connection skips frames rather than queueing them.
  if (!state.paused && !state.held && media > lastMedia && preview.videoWidth > 0 && socket.bufferedAmount < 1_000_000) {
    const scale = Math.min(1, 640 / preview.videoWidth);
    canvas.width = Math.round(preview.videoWidth * scale);
    canvas.height = Math.round(preview.videoHeight * scale);
    canvas.getContext("2d").drawImage(preview, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    if (blob && socket.readyState === WebSocket.OPEN) {
      const jpeg = await blob.arrayBuffer();
      const message = new Uint8Array(16 + jpeg.byteLength);
      const header = new DataView(message.buffer);
      header.setFloat64(0, media, true);
      header.setFloat64(8, performance.now(), true);
      message.set(new Uint8Array(jpeg), 16);
      socket.send(message.buffer);
      lastMedia = media;
      state.sent += 1;
      $("frames-sent").textContent = String(state.sent);
    }
  }
  schedule();
}

// The server cannot save results for a while: the video waits, and nothing is sent, until it can.
function hold(reason) {
  state.held = reason;
  if (state.briefing.stimulus_id) $("stimulus").pause();
  setState("held", `Paused by the study server: ${reason}.`);
}

function release() {
  if (!state.held) return;
  state.held = null;
  if (state.briefing.stimulus_id && !state.paused) $("stimulus").play().catch(() => {});
  setState(state.paused ? "paused" : "capturing", state.paused ? "Paused: nothing is sent." : "Watching. Your expressions are being estimated.");
}

function togglePause() {
  state.paused = !state.paused;
  const video = $("stimulus");
  if (state.briefing.stimulus_id && !state.held) state.paused ? video.pause() : video.play();
  $("pause").textContent = state.paused ? "Resume" : "Pause";
  if (state.held) return hold(state.held);
  setState(state.paused ? "paused" : "capturing", state.paused ? "Paused: nothing is sent." : "Watching.");
}

function stopCapture() {
  clearTimeout(state.timer);
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  $("stimulus").pause();
  $("pause").disabled = true;
  $("start").disabled = true;
}

function finish() {
  state.ended = true;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify({ type: "end" }));
  stopCapture();
  $("capture").classList.add("hidden");
  $("done").classList.remove("hidden");
  $("done-text").textContent = "The video is over and your camera is off. You may close this page.";
  setState("finished", "Finished.");
}

async function withdraw() {
  if (!confirm("Withdraw from the study? Your results will be handled as the notice says and processing stops.")) return;
  state.ended = true;
  stopCapture();
  const response = await fetch(`${base}/withdraw`, { method: "POST" });
  if (state.socket) state.socket.close(1000, "withdrawn");
  $("capture").classList.add("hidden");
  $("done").classList.remove("hidden");
  $("done-title").textContent = "You have withdrawn";
  if (response.ok) {
    const result = await response.json();
    $("done-text").textContent = `Processing has stopped. ${result.rows_deleted} stored results were deleted.`;
    setState("withdrawn", "Withdrawn.");
  } else {
    setState("error", `Withdrawal failed: ${await errorText(response)}. Please contact the researcher.`, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("agree").addEventListener("change", (e) => { $("consent").disabled = !e.target.checked; });
  $("consent").addEventListener("click", giveConsent);
  $("start").addEventListener("click", start);
  $("pause").addEventListener("click", togglePause);
  $("withdraw").addEventListener("click", withdraw);
  loadBriefing();
});
