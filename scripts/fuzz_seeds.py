#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from ../shared/data, at run time (nothing is committed).

usage: fuzz_seeds.py DATA_DIR OUT_DIR

OUT_DIR/image-decode: one selector byte, then an image (JPEG fixtures, and PNG, BMP, WebP and TIFF
made from one of them with ffmpeg); OUT_DIR/frame-messages: capture messages (16-byte header, JPEG);
OUT_DIR/request-bodies: one route byte, then a JSON body the route accepts; OUT_DIR/request-bodies.dict:
a libFuzzer dictionary of JSON's tokens and the field names and values in the server's OpenAPI
document, so mutations keep bodies that parse and reach the input rules.
"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(data)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPENAPI = os.path.join(ROOT, "Sources", "AffectServer", "OpenAPI", "openapi.json")


def request_body_words(document):
    """Every property name and string enum value the document's request bodies and schemas name."""
    words = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                words.update(node["properties"])
            words.update(value for value in node.get("enum", []) if isinstance(value, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document.get("components", {}))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                walk(operation.get("requestBody", {}))
    return sorted(words)


def write_dictionary(path):
    with open(OPENAPI) as handle:
        words = request_body_words(json.load(handle))
    # JSON's tokens, numbers at the edges, and text the input rules refuse (NUL, bidi, ANSI escapes).
    tokens = ["{", "}", "[", "]", ":", ",", '"', "true", "false", "null", "-0", "1e308", "9223372036854775807",
              "\\u0000", "\\u202e", "\\u001b[", "https://", "/etc/passwd"]
    with open(path, "w") as handle:
        for token in tokens + [f'"{word}"' for word in words]:
            escaped = token.replace("\\", "\\\\").replace('"', '\\"')
            handle.write(f'"{escaped}"\n')


def main(data_dir, out_dir):
    jpegs = [os.path.join(data_dir, "fer-fixtures/images/justin.jpg")]
    jpegs += sorted(glob.glob(os.path.join(data_dir, "fer2013-publictest/*/*.jpg")))[:40:8]
    jpegs += sorted(glob.glob(os.path.join(data_dir, "pyfeat-fixtures/images/*.jpg")))
    # Small seeds mutate fastest: keep images under 64 KB.
    jpegs = [path for path in jpegs if os.path.exists(path) and os.path.getsize(path) < 65536]
    if not jpegs:
        sys.exit("fuzz_seeds: no JPEG fixtures under " + data_dir)
    images = [open(path, "rb").read() for path in jpegs]
    with tempfile.TemporaryDirectory() as scratch:
        for extension in ("png", "bmp", "webp", "tiff"):
            target = os.path.join(scratch, "seed." + extension)
            made = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", jpegs[0], "-vf", "scale=64:-2",
                                   target], capture_output=True)
            if made.returncode == 0:
                images.append(open(target, "rb").read())
    for index, image in enumerate(images):
        write(os.path.join(out_dir, "image-decode"), f"seed{index}", bytes([index % 4]) + image)
    for index, image in enumerate(images[: len(jpegs)]):
        write(os.path.join(out_dir, "frame-messages"), f"seed{index}", struct.pack("<dd", index * 100.0, index * 100.0 + 5) + image)
    bodies = [
        (0, {"name": "Trailer", "purpose": "Which cut holds attention", "context": "media-research", "mode": "aggregate",
             "retention_days": 14, "k": 5, "excluded_emotions": ["sad"], "window_seconds": 10, "privacy_budget": 1}),
        (1, {"name": "Cut", "variant": "A", "source": "https://cdn.example/cut-a.mp4"}),
        (2, {"stimulus_id": "sm_0123456789abcdef", "hours": 48}),
        (3, {"agreed": True, "excluded_emotions": ["fear"], "segment": {"age": "25-34"}}),
        (4, {"decision": "confirmed", "note": "a real reaction"}),
    ]
    for index, (route, body) in enumerate(bodies):
        write(os.path.join(out_dir, "request-bodies"), f"seed{index}", bytes([route]) + json.dumps(body).encode())
    write_dictionary(os.path.join(out_dir, "request-bodies.dict"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
