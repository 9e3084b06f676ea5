"""The inference kernel as participants' browsers run it: the wasm32 builds (scripts/build-kernel-wasm)
in headless Chromium, through the page's own loader (static/inference-kernel.js), on input tensors from
real talking-head frames, against ONNX's reference outputs for the same tensors (kernel_reference.py,
in the models' environment): every output within 1e-4 (relative where a value exceeds 1), with SIMD
and without. Prints the median time per inference of each model and build.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_kernel_wasm.py -v
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from browser_support import CAMERA_CLIP, ROOT, chromium, chromium_folders, missing_prerequisites, remove_chromium_folders

MISSING = missing_prerequisites("wasm kernel browser test")
WASM = os.path.join(ROOT, ".build", "wasm")
MODELS_PYTHON = os.path.join(ROOT, ".venv-models", "bin", "python")
PROGRAMS = {"blazeface-short-range": "blazeface_short_range.akw", "emotion-mini-xception": "emotion_mini_xception.akw"}

PAGE = """<!doctype html><meta charset="utf-8"><title>kernel</title>
<script src="inference-kernel.js"></script>"""

# Runs every case with one build of the kernel; returns the largest differences and median timings.
RUN = """
const [simd, runs, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
(async () => {
  const bytes = async (name) => new Uint8Array(await (await fetch(name)).arrayBuffer());
  const floats = async (name) => new Float32Array((await bytes(name)).buffer);
  const module = await WebAssembly.compile(await bytes(simd ? "inference-kernel-simd.wasm" : "inference-kernel.wasm"));
  const programs = await (await fetch("programs.json")).json();
  const networks = {};
  for (const [model, file] of Object.entries(programs)) networks[model] = await AffectKernel.Network.create(module, await bytes(file));
  const cases = await (await fetch("cases.json")).json();
  const report = { simdSupported: AffectKernel.simdSupported(), worst: {}, medianMs: {}, arenaZeroed: true };
  const times = {};
  for (const c of cases) {
    const network = networks[c.model];
    const input = await floats(c.input);
    let outputs;
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      outputs = network.run(input);
      (times[c.model] = times[c.model] || []).push(performance.now() - start);
    }
    if (network.arena().some((value) => value !== 0)) report.arenaZeroed = false;
    for (const [name, file] of Object.entries(c.outputs)) {
      const expected = await floats(file);
      const got = outputs[name];
      if (!got || got.length !== expected.length) { report.worst[c.name] = [Infinity, name + " missing"]; continue; }
      for (let i = 0; i < got.length; i++) {
        const difference = Math.abs(got[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
        if (!(difference <= ((report.worst[c.model] || [0])[0])) || Number.isNaN(got[i]))
          report.worst[c.model] = [Number.isNaN(got[i]) ? Infinity : difference, `${c.name} ${name}[${i}]`];
      }
    }
  }
  for (const [model, list] of Object.entries(times)) {
    list.sort((a, b) => a - b);
    report.medianMs[model] = list[Math.floor(list.length / 2)];
  }
  done(report);
})().catch((error) => done({ error: String(error) }));
"""


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class KernelInTheBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path, what in ((os.path.join(WASM, "inference-kernel-simd.wasm"), "the wasm kernel (scripts/build-kernel-wasm)"),
                           (MODELS_PYTHON, "the models' environment (scripts/bootstrap)")):
            if not os.path.exists(path):
                raise AssertionError(f"{path} is missing: {what}")
        cls.work = tempfile.mkdtemp(prefix="affect-kernel-")
        cls.chromium_before = chromium_folders()
        subprocess.run([MODELS_PYTHON, os.path.join(ROOT, "tests", "browser", "kernel_reference.py"), cls.work, CAMERA_CLIP],
                       check=True, capture_output=True)
        for name in ("inference-kernel-simd.wasm", "inference-kernel.wasm"):
            shutil.copy(os.path.join(WASM, name), cls.work)
        for file in PROGRAMS.values():
            shutil.copy(os.path.join(ROOT, "models", file), cls.work)
        shutil.copy(os.path.join(ROOT, "Sources", "AffectServer", "Public", "static", "inference-kernel.js"), cls.work)
        with open(os.path.join(cls.work, "programs.json"), "w") as f:
            json.dump(PROGRAMS, f)
        with open(os.path.join(cls.work, "index.html"), "w") as f:
            f.write(PAGE)
        handler = functools.partial(QuietHandler, directory=cls.work)
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.browser = chromium()
        cls.browser.set_script_timeout(120)
        cls.browser.get(f"http://127.0.0.1:{cls.server.server_address[1]}/index.html")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        if getattr(cls, "server", None):
            cls.server.shutdown()
        shutil.rmtree(cls.work, ignore_errors=True)
        remove_chromium_folders(cls.chromium_before)

    def check(self, simd):
        report = self.browser.execute_async_script(RUN, simd, 20)
        self.assertNotIn("error", report, report)
        self.assertTrue(report["simdSupported"], "headless Chromium supports WebAssembly SIMD")
        self.assertTrue(report["arenaZeroed"], "activations are wiped after each run")
        self.assertEqual(set(report["worst"]), set(PROGRAMS), report)
        for model, (difference, where) in report["worst"].items():
            self.assertLessEqual(difference, 1e-4, f"{model}: {where} differs by {difference}")
        build = "SIMD" if simd else "scalar"
        print(f"\nwasm kernel ({build}): " + ", ".join(f"{m} {ms:.2f} ms (largest difference {report['worst'][m][0]:.2e})"
                                                   for m, ms in sorted(report["medianMs"].items())))

    def test_the_simd_build_matches_onnx(self):
        self.check(simd=True)

    def test_the_scalar_build_matches_onnx(self):
        self.check(simd=False)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm"}

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    unittest.main()
