"""Input tensors from real talking-head frames and ONNX's reference outputs for them, for
test_kernel_wasm.py. Run with the models' environment (.venv-models: numpy, onnx):

    .venv-models/bin/python tests/browser/kernel_reference.py OUT_DIR CLIP...

Writes OUT_DIR/cases.json and, per case, the input and each output as little-endian float32 files.
The tensors are made the way the server makes them (letterboxed RGB in [-1, 1] for BlazeFace; a grey
square of the face region in [-1, 1] for the classifier), with a plain bilinear resize: the check
is the kernel against ONNX on identical tensors, not the resize.
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def frames(clip, indices, width=512, height=512):
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", clip, "-frames:v", str(max(indices) + 1),
                          "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    video = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
    return [video[i].astype(np.float32) for i in indices]


def resize(image, size):
    """Bilinear resize of an H x W x C image to size x size (pixel centres aligned)."""
    h, w = image.shape[:2]
    ys = np.clip((np.arange(size) + 0.5) * h / size - 0.5, 0, h - 1)
    xs = np.clip((np.arange(size) + 0.5) * w / size - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def main():
    out, clips = sys.argv[1], sys.argv[2:]
    models = {}
    for model, file in (("blazeface-short-range", "blazeface_short_range.onnx"), ("emotion-mini-xception", "emotion_mini_xception.onnx")):
        graph = onnx.load(os.path.join(ROOT, "models", file))
        models[model] = (ReferenceEvaluator(graph), [o.name for o in graph.graph.output])
    cases = []
    for clip in clips:
        for index, frame in zip((0, 100), frames(clip, (0, 100))):
            name = f"{os.path.splitext(os.path.basename(clip))[0]}-{index}"
            rgb = resize(frame, 128).transpose(2, 0, 1) * (2 / 255) - 1
            face = frame[96:416, 96:416]  # the talking heads' face region
            grey = face @ np.array([0.299, 0.587, 0.114], np.float32)
            tensors = {"blazeface-short-range": rgb, "emotion-mini-xception": (resize(grey[..., None], 64)[..., 0] * (2 / 255) - 1)[None]}
            for model, tensor in tensors.items():
                evaluator, names = models[model]
                tensor = tensor.astype(np.float32)
                outputs = evaluator.run(None, {"input": tensor[None]})
                case = {"name": f"{name}-{model}", "model": model, "input": f"{name}-{model}-input.bin", "outputs": {}}
                tensor.astype("<f4").tofile(os.path.join(out, case["input"]))
                for output_name, values in zip(names, outputs):
                    file = f"{name}-{model}-{output_name}.bin"
                    np.asarray(values, np.float32).astype("<f4").tofile(os.path.join(out, file))
                    case["outputs"][output_name] = file
                cases.append(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
