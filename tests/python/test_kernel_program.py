"""The converter from ONNX to inference-kernel programs (scripts/models/kernel_program.py).

It must reproduce the pinned programs byte for byte, refuse what the kernel does not implement by
name, fuse and alias as it says, and never place an operation's output over one of its inputs or
over a tensor still to be read (the kernel computes in place in one arena).
"""

import os
import struct
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))

import build_models  # noqa: E402
import kernel_program  # noqa: E402

MODELS = os.path.join(ROOT, "models")


def decode(program):
    """Header, outputs and operations of a program, as the kernel reads them."""
    words = struct.unpack(f"<{len(program) // 4}I", program)
    assert words[0] == kernel_program.MAGIC
    outputs = [(words[8 + 10 * i], words[9 + 10 * i]) for i in range(words[7])]
    at = 8 + 10 * words[7]
    count = words[at]
    ops = [words[at + 1 + i * kernel_program.OP_WORDS:at + 1 + (i + 1) * kernel_program.OP_WORDS] for i in range(count)]
    return {"arena": words[2], "input": (words[3], words[4] * words[5] * words[6]), "outputs": outputs, "ops": ops}


def ranges(op):
    """(reads, write) of one operation, as (offset, floats) in the arena."""
    code, a, b, out, ci, hi, wi, co, ho, wo = op[:10]
    size_in, size_out = ci * hi * wi, co * ho * wo
    reads = [(a, size_in)] + ([(b, size_in)] if code == kernel_program.OPCODES["add"] else [])
    if code == kernel_program.OPCODES["copy"]:
        return reads, (out + op[18], size_in)
    if code == kernel_program.OPCODES["global_average_pool"]:
        return reads, (out, co)
    return reads, (out, size_out)


def overlap(x, y):
    return x[0] < y[0] + y[1] and y[0] < x[0] + x[1]


class KernelProgramTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import onnx
        cls.onnx = onnx
        if not os.path.exists(os.path.join(MODELS, "manifest.json")):
            raise unittest.SkipTest("SKIPPING: models missing (run scripts/bootstrap)")

    def convert(self, file):
        return kernel_program.convert(self.onnx.load(os.path.join(MODELS, file)))

    def test_the_programs_are_reproduced_byte_for_byte(self):
        for spec in build_models.MODELS:
            if "kernel" not in spec:
                continue
            program, summary = self.convert(spec["file"])
            self.assertEqual(build_models.sha256(program), spec["kernel"]["sha256"], spec["name"])
            self.assertNotIn("relu", summary["operations"], "every Relu of our models is fused")

    def test_every_read_finds_the_tensor_its_producer_wrote(self):
        """Shadow memory: each float of the arena remembers which tensor (by its offset) last wrote it.
        Every read must find only its own tensor there (so no later tensor has overwritten it, and an
        operation never writes over its own input), and so must the outputs at the end."""
        import numpy as np
        for file in ("blazeface_short_range.onnx", "emotion_mini_xception.onnx"):
            program = decode(self.convert(file)[0])
            owner = np.full(program["arena"], -1, np.int64)
            start, count = program["input"]
            owner[start:start + count] = start
            for index, op in enumerate(program["ops"]):
                reads, (at, floats) = ranges(op)
                for offset, length in reads:
                    self.assertTrue((owner[offset:offset + length] == offset).all(), f"{file}: op {index} reads a clobbered tensor")
                self.assertLessEqual(at + floats, program["arena"], f"{file}: op {index} writes past the arena")
                for offset, length in reads:
                    self.assertFalse(overlap((offset, length), (at, floats)), f"{file}: op {index} writes over its input")
                owner[at:at + floats] = op[3]  # a concatenation's copies all belong to its tensor
            for offset, length in program["outputs"]:
                self.assertTrue((owner[offset:offset + length] == offset).all(), f"{file}: an output was overwritten")

    def test_what_the_kernel_does_not_implement_is_refused_by_name(self):
        with self.assertRaisesRegex(kernel_program.Refused, "PRelu"):
            self.convert("face_landmark.onnx")
        from onnx import TensorProto, helper
        graph = helper.make_graph([helper.make_node("Sigmoid", ["input"], ["output"])], "g",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 4])],
                                  [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 4, 4])])
        with self.assertRaisesRegex(kernel_program.Refused, "Sigmoid"):
            kernel_program.convert(helper.make_model(graph))


if __name__ == "__main__":
    unittest.main()
