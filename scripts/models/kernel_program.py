#!/usr/bin/env python3
"""Turns one of Affect's ONNX files into a program for the inference kernel (Sources/InferenceKernel).

Usage: kernel_program.py MODEL.onnx OUT.akw

The kernel is dumb: it runs a flat list of operations over one float arena, with the weights
appended. Everything that needs thought happens here, once: shapes are inferred, each Relu is fused
into the Conv or Add before it, Identity, Flatten and Reshape become aliases, Concat becomes copies,
and every tensor gets an offset in the arena (tensors whose lives do not overlap share space). Any
operation or attribute the kernel does not implement is refused with its name, so a model that
converts is a model the kernel runs as ONNX means it.

File layout (little-endian 32-bit words; weights are float32):
  magic "AKW1", version, arena floats, input offset, input channels, height, width,
  output count, then per output: offset, length, name (32 bytes, zero-padded),
  operation count, then per operation OP_WORDS words (see OPCODES and write_op),
  weight count, then the weights.
"""

import struct
import sys

import numpy as np

MAGIC = 0x31574B41  # "AKW1"
VERSION = 1
OP_WORDS = 20
ALIGN = 4  # floats: every tensor starts on 16 bytes, for SIMD loads
OPCODES = {"conv": 1, "maxpool": 2, "add": 3, "pad_channels": 4, "global_average_pool": 5, "softmax": 6,
           "nchw_to_nhwc": 7, "copy": 8, "relu": 9}
FLAG_RELU = 1


class Refused(Exception):
    pass


def attributes(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def convert(model):
    """The program's bytes and a summary (operation counts, arena and weight sizes)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    graph = model.graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    shapes = {}
    for value in list(graph.value_info) + list(graph.input) + list(graph.output):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if value.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise Refused(f"{value.name}: only float32 tensors")
        shapes[value.name] = tuple(dims)
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(shapes[inputs[0].name]) != 4 or shapes[inputs[0].name][0] != 1:
        raise Refused("one input of shape [1, C, H, W]")
    input_name = inputs[0].name

    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for output in graph.output:
        consumers[output.name] = consumers.get(output.name, 0) + 1

    alias = {}  # tensor -> the tensor whose storage it shares

    def storage(name):
        while name in alias:
            name = alias[name]
        return name

    def shape(name):
        if name not in shapes:
            raise Refused(f"{name}: no inferred shape")
        return shapes[name]

    def chw(name):
        dims = shape(name)
        if len(dims) != 4 or dims[0] != 1:
            raise Refused(f"{name}: expected [1, C, H, W], got {list(dims)}")
        return dims[1:]

    ops = []  # dicts: kind, inputs (storage names), output (storage name), words
    producer = {}  # storage name -> index in ops
    weights = []
    weight_count = [0]

    def add_weights(array):
        offset = weight_count[0]
        flat = np.ascontiguousarray(array, dtype=np.float32).ravel()
        weights.append(flat)
        weight_count[0] += flat.size
        return offset

    def emit(kind, ins, out, **fields):
        ops.append({"kind": kind, "inputs": [storage(i) for i in ins], "output": out, "fields": fields})
        producer[out] = len(ops) - 1

    for node in graph.node:
        op = node.op_type
        attrs = attributes(node)
        if op == "Conv":
            x, w = node.input[0], node.input[1]
            if w not in initializers or (len(node.input) > 2 and node.input[2] not in initializers):
                raise Refused(f"{node.name or op}: weights must be constants")
            kernel = initializers[w]
            bias = initializers[node.input[2]] if len(node.input) > 2 else np.zeros(kernel.shape[0], np.float32)
            group = attrs.get("group", 1)
            c_in, h_in, w_in = chw(x)
            c_out, h_out, w_out = chw(node.output[0])
            if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise Refused(f"Conv {node.output[0]}: auto_pad")
            if any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise Refused(f"Conv {node.output[0]}: dilations")
            if group not in (1, c_in) or (group != 1 and c_out != c_in):
                raise Refused(f"Conv {node.output[0]}: group {group} (only 1 or depthwise)")
            kh, kw = attrs.get("kernel_shape", kernel.shape[2:])
            sh, sw = attrs.get("strides", [1, 1])
            pads = attrs.get("pads", [0, 0, 0, 0])
            emit("conv", [x], node.output[0], c_in=c_in, h_in=h_in, w_in=w_in, c_out=c_out, h_out=h_out, w_out=w_out,
                 kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=pads[0], pad_left=pads[1],
                 groups=group, weight=add_weights(kernel), bias=add_weights(bias))
        elif op == "Relu":
            source = storage(node.input[0])
            index = producer.get(source)
            if index is not None and ops[index]["kind"] in ("conv", "add") and consumers[node.input[0]] == 1:
                ops[index]["fields"]["flags"] = ops[index]["fields"].get("flags", 0) | FLAG_RELU
                alias[node.output[0]] = source
            else:
                c, h, w = chw(node.input[0])
                emit("relu", [node.input[0]], node.output[0], c_in=c, h_in=h, w_in=w, c_out=c, h_out=h, w_out=w)
        elif op == "Add":
            a, b = node.input
            if shape(a) != shape(b) or shape(a) != shape(node.output[0]):
                raise Refused(f"Add {node.output[0]}: broadcasting")
            count = int(np.prod(shape(a)))
            emit("add", [a, b], node.output[0], c_in=count, h_in=1, w_in=1, c_out=count, h_out=1, w_out=1)
        elif op == "Pad":
            if attrs.get("mode", b"constant") not in (b"constant", "constant"):
                raise Refused(f"Pad {node.output[0]}: mode {attrs.get('mode')}")
            if len(node.input) > 2 and node.input[2] and float(initializers.get(node.input[2], np.zeros(1)).ravel()[0]) != 0:
                raise Refused(f"Pad {node.output[0]}: a value other than 0")
            pads = [int(p) for p in initializers[node.input[1]]]
            if len(pads) != 8 or any(p != 0 for i, p in enumerate(pads) if i != 5):
                raise Refused(f"Pad {node.output[0]}: only zero channels after the existing ones ({pads})")
            c_in, h, w = chw(node.input[0])
            c_out, _, _ = chw(node.output[0])
            emit("pad_channels", [node.input[0]], node.output[0], c_in=c_in, h_in=h, w_in=w, c_out=c_out, h_out=h, w_out=w)
        elif op == "MaxPool":
            c, h_in, w_in = chw(node.input[0])
            _, h_out, w_out = chw(node.output[0])
            kh, kw = attrs["kernel_shape"]
            sh, sw = attrs.get("strides", [1, 1])
            if attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", [1, 1])) \
                    or attrs.get("storage_order", 0):
                raise Refused(f"MaxPool {node.output[0]}: ceil_mode, dilations or storage_order")
            auto_pad = attrs.get("auto_pad", b"NOTSET")
            auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
            if auto_pad == "NOTSET":
                top, left = attrs.get("pads", [0, 0, 0, 0])[:2]
            elif auto_pad == "SAME_UPPER":
                top = max((h_out - 1) * sh + kh - h_in, 0) // 2
                left = max((w_out - 1) * sw + kw - w_in, 0) // 2
            else:
                raise Refused(f"MaxPool {node.output[0]}: auto_pad {auto_pad}")
            emit("maxpool", [node.input[0]], node.output[0], c_in=c, h_in=h_in, w_in=w_in, c_out=c, h_out=h_out,
                 w_out=w_out, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=top, pad_left=left)
        elif op == "GlobalAveragePool":
            c, h, w = chw(node.input[0])
            emit("global_average_pool", [node.input[0]], node.output[0], c_in=c, h_in=h, w_in=w, c_out=c, h_out=1, w_out=1)
        elif op in ("Identity", "Flatten", "Reshape"):
            if op == "Flatten" and attrs.get("axis", 1) != 1:
                raise Refused(f"Flatten {node.output[0]}: axis {attrs.get('axis')}")
            if int(np.prod(shape(node.input[0]))) != int(np.prod(shape(node.output[0]))):
                raise Refused(f"{op} {node.output[0]}: changes the element count")
            alias[node.output[0]] = storage(node.input[0])
        elif op == "Softmax":
            dims = shape(node.input[0])
            if attrs.get("axis", -1) not in (len(dims) - 1, -1) or int(np.prod(dims[:-1])) != 1:
                raise Refused(f"Softmax {node.output[0]}: only over the last axis of one row")
            emit("softmax", [node.input[0]], node.output[0], c_in=dims[-1], h_in=1, w_in=1, c_out=dims[-1], h_out=1, w_out=1)
        elif op == "Transpose":
            if list(attrs.get("perm", [])) != [0, 2, 3, 1]:
                raise Refused(f"Transpose {node.output[0]}: perm {attrs.get('perm')} (only NCHW to NHWC)")
            c, h, w = chw(node.input[0])
            emit("nchw_to_nhwc", [node.input[0]], node.output[0], c_in=c, h_in=h, w_in=w, c_out=c, h_out=h, w_out=w)
        elif op == "Concat":
            dims = shape(node.output[0])
            axis = attrs["axis"] % len(dims)
            if int(np.prod(dims[:axis])) != 1:
                raise Refused(f"Concat {node.output[0]}: only along the outermost non-unit axis")
            total = int(np.prod(dims))
            offset = 0
            for part in node.input:
                count = int(np.prod(shape(part)))
                emit("copy", [part], node.output[0], c_in=count, h_in=1, w_in=1, c_out=total, h_out=1, w_out=1,
                     destination=offset)
                offset += count
            if offset != total:
                raise Refused(f"Concat {node.output[0]}: parts do not fill it")
        else:
            raise Refused(f"operation {op} ({node.output[0]}) is not one the kernel implements")

    outputs = [(o.name, storage(o.name), int(np.prod(shape(o.name)))) for o in graph.output]
    if not 1 <= len(outputs) <= 4:
        raise Refused("one to four outputs")
    return encode(ops, input_name, chw(input_name), outputs, np.concatenate(weights) if weights else np.zeros(0, np.float32))


def tensor_floats(op, name):
    """The floats a tensor occupies, from the operation that writes it."""
    fields = op["fields"]
    if op["kind"] == "copy":
        return fields["c_out"]
    return fields["c_out"] * fields["h_out"] * fields["w_out"]


def encode(ops, input_name, input_chw, outputs, weights):
    # Lifetimes, in operation indices: from the first write to the last read (outputs to the end).
    size, first, last = {input_name: int(np.prod(input_chw))}, {input_name: -1}, {input_name: -1}
    for index, op in enumerate(ops):
        size.setdefault(op["output"], tensor_floats(op, op["output"]))
        first.setdefault(op["output"], index)
        last[op["output"]] = max(last.get(op["output"], index), index)
        for name in op["inputs"]:
            last[name] = index
    for _, name, _ in outputs:
        last[name] = len(ops)
    offsets, live = {}, []  # live: (offset, floats, last use)
    for name in sorted(size, key=lambda n: (first[n], n)):
        # Space whose tensor was last read before this one is first written is free again (an
        # operation never writes where it reads).
        live = [entry for entry in live if entry[2] >= first[name]]
        floats = -(-size[name] // ALIGN) * ALIGN
        offset = 0
        for start, length, _ in sorted(live):
            if offset + floats <= start:
                break
            offset = max(offset, start + length)
        offsets[name] = offset
        live.append((offset, floats, last[name]))
    arena = max(offsets[n] + -(-size[n] // ALIGN) * ALIGN for n in size)

    words = [MAGIC, VERSION, arena, offsets[input_name], *input_chw, len(outputs)]
    for public, name, count in outputs:
        encoded = public.encode()[:32].ljust(32, b"\0")
        words += [offsets[name], count, *struct.unpack("<8I", encoded)]
    words.append(len(ops))
    for op in ops:
        words += op_words(op, offsets)
    words.append(int(weights.size))
    header = struct.pack(f"<{len(words)}I", *words)
    counts = {}
    for op in ops:
        counts[op["kind"]] = counts.get(op["kind"], 0) + 1
    summary = {"operations": counts, "arena_floats": arena, "weights": int(weights.size)}
    return header + weights.astype("<f4").tobytes(), summary


def op_words(op, offsets):
    """One operation: opcode, input A, input B, output (arena offsets; -1 absent), the input's and the
    output's C, H, W, kernel H and W, stride H and W, pad top and left, groups, weight offset, bias
    offset (into the weights; copy: the destination's offset in the output), flags."""
    f = op["fields"]
    inputs = [offsets[i] for i in op["inputs"]] + [0xFFFFFFFF]
    third = f.get("bias", f.get("destination", 0xFFFFFFFF))
    words = [OPCODES[op["kind"]], inputs[0], inputs[1] if len(op["inputs"]) > 1 else 0xFFFFFFFF, offsets[op["output"]],
             f["c_in"], f["h_in"], f["w_in"], f["c_out"], f["h_out"], f["w_out"],
             f.get("kernel_h", 1), f.get("kernel_w", 1), f.get("stride_h", 1), f.get("stride_w", 1),
             f.get("pad_top", 0), f.get("pad_left", 0), f.get("groups", 1), f.get("weight", 0xFFFFFFFF), third,
             f.get("flags", 0)]
    assert len(words) == OP_WORDS
    return words


def main():
    import onnx
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    try:
        program, summary = convert(onnx.load(sys.argv[1]))
    except Refused as refusal:
        print(f"kernel_program: {sys.argv[1]}: {refusal}", file=sys.stderr)
        return 65
    with open(sys.argv[2], "wb") as f:
        f.write(program)
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
