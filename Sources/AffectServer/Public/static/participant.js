// The participant page: notice, consent, camera, stimulus, then over a WebSocket either frames to
// the server (server analysis: JPEGs made in memory, or a WebRTC video track set up over the socket,
// webrtc-capture.js) or, for studies analysed on the device, only results: the page runs the models
// itself (face-analysis.js, inference-kernel.js) and no picture leaves it. Nothing is kept in the page
// either: pixel buffers are zeroed after each frame.
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
    return showCameraProblem(problem);
  }
  if (briefing.analysis === "device") await checkDeviceAnalysis(briefing);
}

// The page tries device analysis before consent, on a blank frame (no camera yet): whether this
// browser can run the kernel, and fast enough. If it cannot, a study that offers it lets the
// participant choose server analysis, with its own checkbox; otherwise nobody can consent here.
const SLOWEST_DEVICE_MS = 400;

async function checkDeviceAnalysis(briefing) {
  let reason = null;
  try {
    const device = await loadDeviceAnalysis(briefing.kernel);
    const blank = new ImageData(640, 480);
    const costs = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      AffectFaces.analyse(device.networks, blank);
      costs.push(performance.now() - started);
    }
    costs.sort((a, b) => a - b);
    if (costs[1] > SLOWEST_DEVICE_MS) reason = `it takes ${Math.round(costs[1])} ms a frame`;
    else state.device = device;
  } catch (error) {
    reason = error.message;
  }
  if (!reason) return;
  document.body.dataset.deviceProblem = reason;
  $("device-problem").classList.remove("hidden");
  if (briefing.device_fallback) {
    $("device-problem-text").textContent = `This browser cannot analyse the video here on your device (${reason}). ` +
      "You may still take part if you agree to have your camera image analysed on the study's server instead.";
    $("server-offer").classList.remove("hidden");
    const update = () => { $("consent").disabled = !($("agree").checked && $("server-analysis").checked); };
    $("server-analysis").addEventListener("change", update);
    $("agree").addEventListener("change", update);
    update();
  } else {
    $("device-problem-text").textContent = `This browser cannot analyse the video here on your device (${reason}), ` +
      "and this study takes part only that way. Please try a current Chrome, Edge, Firefox or Safari on a computer.";
    $("agree").disabled = true;
    $("consent").disabled = true;
    setState("device-problem", "This browser cannot take part in this study.", true);
  }
}

async function giveConsent() {
  const excluded = [...document.querySelectorAll("input[name=exclude]:checked")].map((b) => b.value);
  $("consent").disabled = true;
  const response = await fetch(`${base}/consent`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ agreed: true, excluded_emotions: excluded,
      server_analysis: $("server-analysis").checked || undefined }),
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
  // A study receiving cameras over WebRTC gets a track from browsers that can send one; JPEGs otherwise.
  // The address says how the page will place the track's frames on the stimulus clock.
  const mapping = state.briefing.transport === "webrtc" && state.briefing.analysis !== "device" ? AffectWebRTC.clockMapping() : null;
  state.clockMapping = mapping;
  const query = mapping === null ? "" : mapping === "encoded-frames" ? "?transport=webrtc" : "?transport=webrtc&clock=sender-reports";
  const socket = new WebSocket(`${scheme}://${location.host}${base}/ws${query}`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") return;
    const message = JSON.parse(event.data);
    if (message.fps) {
      state.fps = message.fps;
      $("rate").textContent = message.fps.toFixed(1);
    }
    if (message.type === "ready") ready(message);
    if (message.type === "readout") showReadout(message.points);
    if (message.type === "pause") hold(message.reason);
    if (message.type === "resume") release();
    if (message.type === "webrtc-answer" && state.webrtc) state.webrtc.answer(message.sdp).catch((error) => webRTCFailed(error));
    if (message.type === "ice" && state.webrtc) state.webrtc.candidate(message);
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

// The session is open: for device analysis, the kernel is loaded (once) and what it runs is
// reported before any result; then capture starts or goes on.
async function ready(message) {
  // A study analysed on the device whose participant chose server analysis: frames go as in any server study.
  if (message.analysis !== "device") state.device = null;
  document.body.dataset.analysis = message.analysis || "server";
  $("camera-privacy").textContent = message.analysis === "device"
    ? "No picture of you leaves this page." : "Your camera picture is analysed in the server's memory; no picture is stored.";
  if (message.analysis === "device") {
    try {
      await startDeviceAnalysis(message);
    } catch (error) {
      state.ended = true;
      if (state.socket) state.socket.close(1000, "device analysis unavailable");
      stopCapture();
      return setState("error", `This browser cannot analyse the video on this device (${error.message}). ` +
        "Nothing was sent. Please try a current Chrome, Edge, Firefox or Safari.", true);
    }
  }
  if (state.webrtc) state.webrtc.close();
  state.webrtc = null;
  document.body.dataset.transport = message.transport || "";
  await (document.body.dataset.session ? resumed() : begin(message));
  if (message.transport === "webrtc") startWebRTC(message.webrtc);
}

// The camera goes as a video track over a connection of this socket's own; the socket carries its
// signalling and each frame's place on the stimulus clock.
function startWebRTC(config) {
  const socket = state.socket;
  const send = (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); };
  const clock = () => (state.paused || state.held || state.ended || !document.body.dataset.session ? null : mediaTime());
  const counted = (frames) => {
    state.sent += frames;
    $("frames-sent").textContent = String(state.sent);
  };
  state.webrtc = new AffectWebRTC.Connection(state.stream, config, send, clock, counted, state.clockMapping);
  if (state.paused || state.held) state.webrtc.sending(false);
  state.webrtc.start().catch((error) => webRTCFailed(error));
}

function webRTCFailed(error) {
  setState("error", `The video connection to the study server could not be set up (${error.name || error.message}). ` +
    "Please reload the page to try again.", true);
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
  // A WebRTC track sends by itself.
  if (document.body.dataset.transport === "webrtc") return;
  if (state.device) {
    // The rate the server asks for, or slower when this device cannot keep up (its own measured cost).
    const interval = Math.max(1000 / Math.max(0.5, state.fps), state.device.costMs * 1.25);
    state.timer = setTimeout(analyseFrame, Math.max(0, interval - state.device.lastCostMs));
    return;
  }
  state.timer = setTimeout(sendFrame, 1000 / Math.max(0.5, state.fps));
}

// --- Device analysis -------------------------------------------------------------------------

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Fetches the kernel (the SIMD build where supported) and both models' programs, hashes what it
// fetched (the server refuses a session whose hashes are not its own) and builds the networks.
async function loadDeviceAnalysis(kernel) {
  if (typeof WebAssembly !== "object") throw new Error("it has no WebAssembly");
  if (!crypto.subtle) throw new Error("it has no Web Crypto");
  if (!kernel) throw new Error("the server offers no analysis files");
  const fetchBytes = async (entry) => {
    const response = await fetch(entry.url, { cache: "no-cache" });
    if (!response.ok) throw new Error(`the analysis files could not be loaded (${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const simd = AffectKernel.simdSupported();
  const moduleBytes = await fetchBytes(simd ? kernel.simd : kernel.scalar);
  const [detectorBytes, classifierBytes] = [await fetchBytes(kernel.detector), await fetchBytes(kernel.classifier)];
  const hello = {
    type: "device", build: simd ? "simd" : "scalar", kernel_sha256: await sha256(moduleBytes),
    detector_sha256: await sha256(detectorBytes), classifier_sha256: await sha256(classifierBytes),
  };
  const module = await WebAssembly.compile(moduleBytes);
  return {
    hello, pending: [], costMs: 0, lastCostMs: 0, lastFlush: performance.now(), analysed: 0, maxPerMessage: 30,
    networks: {
      detector: await AffectKernel.Network.create(module, detectorBytes),
      classifier: await AffectKernel.Network.create(module, classifierBytes),
    },
  };
}

async function startDeviceAnalysis(message) {
  if (!state.device) state.device = await loadDeviceAnalysis(message.kernel);
  state.device.maxPerMessage = message.max_frames_per_message || 30;
  document.body.dataset.kernel = state.device.hello.build;
  $("where-analysed").textContent = "Your video is analysed here, in this browser: no picture of you is sent, only the estimates.";
  $("sent-label").textContent = "Frames analysed on this device";
  state.socket.send(JSON.stringify(state.device.hello));
}

const deviceCanvas = document.createElement("canvas");

function analyseFrame() {
  const socket = state.socket;
  const device = state.device;
  if (!socket || socket.readyState !== WebSocket.OPEN || state.ended || !device) return;
  const preview = $("preview");
  const media = mediaTime();
  device.lastCostMs = 0;
  if (!state.paused && !state.held && media > lastMedia && preview.videoWidth > 0) {
    const started = performance.now();
    const scale = Math.min(1, 640 / preview.videoWidth);
    deviceCanvas.width = Math.round(preview.videoWidth * scale);
    deviceCanvas.height = Math.round(preview.videoHeight * scale);
    const context = deviceCanvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(preview, 0, 0, deviceCanvas.width, deviceCanvas.height);
    const frame = context.getImageData(0, 0, deviceCanvas.width, deviceCanvas.height);
    let faces;
    try {
      faces = AffectFaces.analyse(device.networks, frame);
    } finally {
      // The picture is gone from the page once analysed: its pixels and the canvas are cleared.
      frame.data.fill(0);
      context.clearRect(0, 0, deviceCanvas.width, deviceCanvas.height);
    }
    const { width, height } = frame;
    const cost = performance.now() - started;
    device.lastCostMs = cost;
    device.costMs = device.analysed === 0 ? cost : 0.8 * device.costMs + 0.2 * cost;
    device.analysed += 1;
    device.pending.push({
      t_ms: media, width, height, cost_ms: Math.round(cost * 100) / 100,
      faces: faces.map((face) => ({
        box: [face.box.x / width, face.box.y / height, face.box.width / width, face.box.height / height],
        score: face.score, probabilities: face.probabilities,
      })),
    });
    lastMedia = media;
    state.sent += 1;
    $("frames-sent").textContent = String(state.sent);
  }
  // Results go in batches: about twice a second, never more frames than a message may hold.
  if (device.pending.length >= device.maxPerMessage ||
      (device.pending.length > 0 && performance.now() - device.lastFlush >= 500)) flushResults();
  schedule();
}

function flushResults() {
  const device = state.device;
  if (!device || device.pending.length === 0 || !state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  state.socket.send(JSON.stringify({ type: "results", frames: device.pending }));
  device.pending = [];
  device.lastFlush = performance.now();
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
  if (state.webrtc) state.webrtc.sending(false);
  if (state.briefing.stimulus_id) $("stimulus").pause();
  setState("held", `Paused by the study server: ${reason}.`);
}

function release() {
  if (!state.held) return;
  state.held = null;
  if (state.webrtc && !state.paused) state.webrtc.sending(true);
  if (state.briefing.stimulus_id && !state.paused) $("stimulus").play().catch(() => {});
  setState(state.paused ? "paused" : "capturing", state.paused ? "Paused: nothing is sent." : "Watching. Your expressions are being estimated.");
}

function togglePause() {
  state.paused = !state.paused;
  if (state.webrtc && !state.held) state.webrtc.sending(!state.paused);
  const video = $("stimulus");
  if (state.briefing.stimulus_id && !state.held) state.paused ? video.pause() : video.play();
  $("pause").textContent = state.paused ? "Resume" : "Pause";
  if (state.held) return hold(state.held);
  setState(state.paused ? "paused" : "capturing", state.paused ? "Paused: nothing is sent." : "Watching.");
}

function stopCapture() {
  clearTimeout(state.timer);
  if (state.webrtc) state.webrtc.close();
  state.webrtc = null;
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  $("stimulus").pause();
  $("pause").disabled = true;
  $("start").disabled = true;
}

function finish() {
  flushResults();
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
