// The console's few scripts: stimulus upload with progress, copying links or a token, and the
// results chart. Everything else in the console is plain forms.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

function setUpUpload(form) {
  const status = document.getElementById("upload-status");
  const progress = document.getElementById("upload-progress");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = document.getElementById("upload-file").files[0];
    if (!file) return;
    const name = document.getElementById("upload-name").value.trim();
    const variant = document.getElementById("upload-variant").value.trim() || "A";
    const request = new XMLHttpRequest();
    const query = new URLSearchParams({ name, variant });
    request.open("POST", `/api/v1/studies/${form.dataset.study}/stimuli/upload?${query}`);
    request.setRequestHeader("X-CSRF-Token", csrf());
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    });
    request.addEventListener("load", () => {
      if (request.status === 201) {
        status.textContent = "Uploaded.";
        location.reload();
      } else {
        let message = `The upload failed (${request.status}).`;
        try { message = `The upload failed: ${JSON.parse(request.responseText).error.message}.`; } catch (_) { /* not JSON */ }
        status.textContent = message;
        document.body.dataset.upload = "failed";
      }
    });
    request.addEventListener("error", () => { status.textContent = "The upload failed: the connection was lost."; });
    progress.hidden = false;
    progress.value = 0;
    status.textContent = "Uploading…";
    request.send(file);
  });
}

function setUpCopy(button) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    field.select();
    const status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = "Copied.";
    } catch (_) {
      if (status) status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  });
}

function drawResults(svg) {
  const bins = JSON.parse(svg.dataset.bins);
  AffectChart.drawTimeline(svg, AffectChart.expressionSeries(bins, true),
    { title: "Audience: mean expression probabilities (95% intervals)", yLabel: "mean probability" });
}

// A moment's player starts at the moment (the #t= fragment does too where the browser can seek there).
function startAtMoment(video) {
  video.addEventListener("loadedmetadata", () => { video.currentTime = Number(video.dataset.start) || 0; }, { once: true });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("video[data-start]").forEach(startAtMoment);
  const upload = document.getElementById("upload-form");
  if (upload) setUpUpload(upload);
  document.querySelectorAll("button[data-copy]").forEach(setUpCopy);
  const chart = document.getElementById("results-chart");
  if (chart && window.AffectChart) drawResults(chart);
});
