"""Int8 with one activation scale per token: ONNX Runtime's dynamic quantization, rewritten so that no text
in a batch can move another text's score.

`quantize_dynamic` (per-channel int8 weights) quantizes each activation tensor with one scale for the whole
tensor: in a padded batch, the largest activation of any text sets every text's scale. Here each
DynamicQuantizeLinear is replaced by a per-token quantization (scale = max |x| over the hidden axis / 127,
uint8 with zero point 128), and each weight MatMul by MatMulIntegerToFloat with a unit activation scale
followed by a multiply with the per-token scales.

The integer MatMul is written as the contrib op on purpose: left as MatMulInteger → Cast → Mul, ONNX
Runtime's extended graph optimizations fuse it into MatMulIntegerToFloat assuming a scalar activation scale
and silently give wrong results (measured: 24 % of labels changed), while the unfused graph is slower.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_CONSTANTS = {
    "per_token/tiny": np.array(1e-8, dtype=np.float32),  # an all-zero row gets a finite scale
    "per_token/127": np.array(127.0, dtype=np.float32),
    "per_token/128": np.array(128.0, dtype=np.float32),
    "per_token/zero_point": np.array(128, dtype=np.uint8),
    "per_token/one": np.array(1.0, dtype=np.float32),
}


def per_token_activations(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite a `quantize_dynamic` graph (in place) to per-token activation scales; returns it."""
    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    dropped: set[str] = set()
    replacements: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            replacements[node.name] = _quantize_per_token(node)
        elif node.op_type == "MatMulInteger":
            nodes, removed = _matmul_with_token_scales(node, producer, consumers)
            replacements[node.name] = nodes
            dropped |= removed
    rewritten = [new for node in graph.node if node.name not in dropped for new in replacements.get(node.name, [node])]
    del graph.node[:]
    graph.node.extend(rewritten)
    del graph.value_info[:]  # shapes of the replaced scales changed; ONNX Runtime infers them again
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in _CONSTANTS.items())
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _quantize_per_token(node: onnx.NodeProto) -> list[onnx.NodeProto]:
    """x → (uint8 x, scale of shape (..., 1), zero point 128): the same three outputs DynamicQuantizeLinear had."""
    x = node.input[0]
    quantized, scale, zero_point = node.output
    p = f"{node.name}/per_token/"

    def op(step: str, kind: str, inputs: list[str], output: str, **attributes: object) -> onnx.NodeProto:
        return helper.make_node(kind, inputs, [output], name=p + step, **attributes)

    return [
        op("abs", "Abs", [x], p + "abs"),
        op("max", "ReduceMax", [p + "abs"], p + "max", axes=[-1], keepdims=1),
        op("max_positive", "Max", [p + "max", "per_token/tiny"], p + "max_positive"),
        op("scale", "Div", [p + "max_positive", "per_token/127"], scale),
        op("scaled", "Div", [x, scale], p + "scaled"),
        op("rounded", "Round", [p + "scaled"], p + "rounded"),
        op("shifted", "Add", [p + "rounded", "per_token/128"], p + "shifted"),
        op("quantized", "Cast", [p + "shifted"], quantized, to=TensorProto.UINT8),
        op("zero_point", "Identity", ["per_token/zero_point"], zero_point),
    ]


def _matmul_with_token_scales(
    node: onnx.NodeProto, producer: dict[str, onnx.NodeProto], consumers: dict[str, list[onnx.NodeProto]]
) -> tuple[list[onnx.NodeProto], set[str]]:
    """MatMulInteger → Cast → Mul(x_scale · w_scale) becomes MatMulIntegerToFloat(w_scale) → Mul(x_scale).
    Returns the new nodes and the names of the nodes they replace."""
    (cast,) = consumers[node.output[0]]
    (rescale,) = consumers[cast.output[0]]
    scales = producer[rescale.input[1]]
    if (cast.op_type, rescale.op_type, scales.op_type) != ("Cast", "Mul", "Mul"):
        raise ValueError(f"{node.name}: not the MatMulInteger → Cast → Mul pattern quantize_dynamic writes")
    x_scale, w_scale = scales.input
    x, weights, x_zero_point, w_zero_point = node.input
    unscaled = f"{node.name}/per_token/unscaled"
    nodes = [
        helper.make_node(
            "MatMulIntegerToFloat",
            [x, weights, "per_token/one", w_scale, x_zero_point, w_zero_point],
            [unscaled],
            name=f"{node.name}/per_token/matmul",
            domain="com.microsoft",
        ),
        helper.make_node("Mul", [unscaled, x_scale], [rescale.output[0]], name=f"{node.name}/per_token/rescale"),
    ]
    return nodes, {cast.name, rescale.name, scales.name}
