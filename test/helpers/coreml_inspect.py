"""Reads the Core ML models stridekit's coreml backend builds back through Apple's own tooling.

Run by test/coreml-model.test.js with the interpreter of .venv-coremltools (scripts/setup-coremltools.sh):

    python coreml_inspect.py manifest.json  ->  one JSON object on stdout, keyed by case id

manifest.json lists { id, package, weight, bias, precision, x, y } (weight and bias: raw float32 files,
channels first, as given to stridekit_coreml_model; x: the input as raw float32; y: where to write the
output). For each model this

  * opens the .mlpackage with coremltools.models.MLModel(skip_model_load=True): Apple's model-package
    reader and the specification's protobuf parser;
  * loads the ML Program with coremltools' MIL loader (converters.mil.frontend.milproto.load), which
    rebuilds every operation and runs its type inference;
  * reports the inferred output shape and dtype, the declared input/output features, every operation whose
    declared result type differs from the inferred one, the operation types, and whether the weights and
    bias read back equal the float32 (or float16-rounded) values given;
  * evaluates the program as loaded on x and writes y. coremltools cannot run a model outside macOS (its
    libcoremlpython, which calls Core ML, ships for macOS only), but most MIL operations carry a numpy
    value_inference that coremltools uses to fold constants: transpose, cast (the float16 rounding), pad,
    add, relu, relu6, sigmoid, tanh, identity are evaluated by coremltools itself. conv, conv_transpose and
    silu have none; they are evaluated here with numpy, from MIL's documented definitions (float64 sums,
    the result rounded to the op's type), on the weights, pads, strides, dilations and groups exactly as
    coremltools read them from the model. What Core ML's own kernels compute is checked only on a Mac.
"""
import json
import os
import sys
import warnings


def quiet_import():
    # coremltools prints "Failed to load _MLModelProxy ..." on Linux at import; that is the expected
    # absence of Core ML itself, not an error of the test.
    import io
    import contextlib

    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import numpy as np
        import coremltools as ct
        from coremltools.converters.mil.frontend.milproto import load as mil_load
        from coremltools.converters.mil.mil import types
        from coremltools.converters.mil import Builder as mb
        from coremltools.converters.mil import mil
    return np, ct, mil_load, types, mb, mil


def conv_nd(np, x, w, bias, strides, pad, dilations, groups):
    """MIL conv: cross-correlation of x (N, C, *n) with w (K, C/groups, *k), pads [b0, e0, b1, e1, ...]."""
    rank = x.ndim - 2
    x = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pad[2 * i], pad[2 * i + 1]) for i in range(rank)])
    kernel = w.shape[2:]
    out = [(x.shape[2 + i] - (kernel[i] - 1) * dilations[i] - 1) // strides[i] + 1 for i in range(rank)]
    C, K = x.shape[1], w.shape[0]
    cg, kg = C // groups, K // groups
    y = np.zeros((x.shape[0], K, *out))
    for tap in np.ndindex(*kernel):
        window = x[(slice(None), slice(None)) + tuple(
            slice(tap[i] * dilations[i], tap[i] * dilations[i] + (out[i] - 1) * strides[i] + 1, strides[i])
            for i in range(rank))]
        for g in range(groups):
            taps = w[(slice(g * kg, (g + 1) * kg), slice(None)) + tap].astype(np.float64)
            y[:, g * kg:(g + 1) * kg] += np.einsum("nc...,kc->nk...", window[:, g * cg:(g + 1) * cg], taps)
    if bias is not None:
        y += bias.astype(np.float64).reshape((1, K) + (1,) * rank)
    return y


def conv_transpose_nd(np, x, w, bias, strides, pad, dilations, groups):
    """MIL conv_transpose: x (N, C, *n), w (C, K/groups, *k); the full output cropped by pads [b0, e0, ...]."""
    rank = x.ndim - 2
    n, kernel = x.shape[2:], w.shape[2:]
    full = [(n[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 for i in range(rank)]
    C, kg = x.shape[1], w.shape[1]
    cg, K = C // groups, kg * groups
    y = np.zeros((x.shape[0], K, *full))
    for tap in np.ndindex(*kernel):
        target = y[(slice(None), slice(None)) + tuple(
            slice(tap[i] * dilations[i], tap[i] * dilations[i] + (n[i] - 1) * strides[i] + 1, strides[i])
            for i in range(rank))]
        for g in range(groups):
            taps = w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap].astype(np.float64)
            target[:, g * kg:(g + 1) * kg] += np.einsum("nc...,ck->nk...", x[:, g * cg:(g + 1) * cg].astype(np.float64), taps)
    y = y[(slice(None), slice(None)) + tuple(slice(pad[2 * i], full[i] - pad[2 * i + 1]) for i in range(rank))]
    if bias is not None:
        y += bias.astype(np.float64).reshape((1, K) + (1,) * rank)
    return y


def evaluate(function, x, np, mb, mil):
    """Runs the loaded program's operations in order on x; returns the function's output."""
    values = {name: x for name in function.inputs}
    for op in function.operations:
        if op.op_type == "const":
            values[op.outputs[0].name] = op.outputs[0].val
            continue
        args = {name: (var.val if var.val is not None else values[var.name]) for name, var in op.inputs.items()}
        result = None
        if op.op_type not in ("conv", "conv_transpose", "silu"):
            # The same operation with constant inputs: coremltools computes its value (value_inference).
            with mil.Function({}, opset_version=function.opset_version):
                result = getattr(mb, op.op_type)(**args).val
            if result is None:
                raise ValueError(f"coremltools gave no value for {op.op_type}")
        else:
            dtype = np.float16 if str(op.outputs[0].dtype.__name__) == "fp16" else np.float32
            if op.op_type == "silu":
                v = args["x"].astype(np.float64)
                result = v / (1.0 + np.exp(-v))
            else:
                run = conv_nd if op.op_type == "conv" else conv_transpose_nd
                result = run(np, args["x"], args["weight"], args.get("bias"), list(args["strides"]), list(args["pad"]),
                             list(args["dilations"]), int(args["groups"]))
            result = result.astype(dtype)
        values[op.outputs[0].name] = np.asarray(result)
    (output,) = function.outputs
    return values[output.name]


def feature_shapes(features):
    return {f.name: list(f.type.multiArrayType.shape) for f in features}


def inspect(entry, np, ct, mil_load, types, mb, mil):
    model = ct.models.MLModel(entry["package"], skip_model_load=True)
    spec = model.get_spec()
    program = mil_load.load(spec, spec.specificationVersion, model.weights_dir)
    function = program.functions["main"]
    (output,) = function.outputs
    ops = list(function.operations)

    declared = {}
    proto_function = spec.mlProgram.functions["main"]
    for proto_op in proto_function.block_specializations[proto_function.opset].operations:
        for out in proto_op.outputs:
            tensor = out.type.tensorType
            declared[out.name] = ([d.constant.size for d in tensor.dimensions], int(tensor.dataType))
    mismatched = []
    for op in ops:
        for var in op.outputs:
            if var.name not in declared:
                mismatched.append(f"{var.name}: not declared")
                continue
            shape, dtype = declared[var.name]
            inferred_dtype = types.BUILTIN_TO_PROTO_TYPES.get(var.dtype)
            if list(var.shape) != shape:
                mismatched.append(f"{var.name}: declared {shape}, inferred {list(var.shape)}")
            if inferred_dtype is not None and int(inferred_dtype) != dtype:
                mismatched.append(f"{var.name}: declared dtype {dtype}, inferred {int(inferred_dtype)}")

    def const_value(name):
        for op in ops:
            if op.op_type == "const" and op.outputs[0].name == name:
                return op.outputs[0].val
        return None

    compute = np.float16 if entry["precision"] == "fp16" else np.float32

    def read_back_equal(const_name, path, broadcast_name=None):
        if not path:
            return None
        given = np.fromfile(path, dtype="<f4").astype(compute)
        value = const_value(const_name)
        if value is None and broadcast_name:
            value = const_value(broadcast_name)
        if value is None:
            return False
        value = np.asarray(value)
        return bool(value.dtype == compute and value.size == given.size and np.array_equal(value.reshape(-1), given))

    conv = next(op for op in ops if op.op_type in ("conv", "conv_transpose"))
    evaluated = None
    if entry.get("x"):
        (input_name,) = function.inputs
        x = np.fromfile(entry["x"], dtype="<f4").reshape(function.inputs[input_name].shape)
        y = evaluate(function, x, np, mb, mil)
        y.astype("<f4").tofile(entry["y"])
        evaluated = list(y.shape)
    return {
        "evaluatedShape": evaluated,
        "specificationVersion": spec.specificationVersion,
        "opset": proto_function.opset,
        "inputs": feature_shapes(spec.description.input),
        "outputs": feature_shapes(spec.description.output),
        "inferredOutput": {"name": output.name, "shape": [int(d) for d in output.shape], "dtype": types.builtin_to_string(output.dtype)},
        "convDtype": types.builtin_to_string(conv.outputs[0].dtype),
        "convAttributes": {
            key: np.asarray(getattr(conv, key).val).tolist()
            for key in ("strides", "pad", "dilations", "groups")
        },
        "operations": [op.op_type for op in ops if op.op_type != "const"],
        "mismatchedTypes": mismatched,
        "weightEqual": read_back_equal("weight", entry.get("weight")),
        "biasEqual": read_back_equal("bias", entry.get("bias"), "bias_broadcast"),
    }


def main():
    np, ct, mil_load, types, mb, mil = quiet_import()
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    results = {}
    for entry in manifest:
        try:
            results[entry["id"]] = inspect(entry, np, ct, mil_load, types, mb, mil)
        except Exception as error:  # reported per model, so one bad model names itself
            results[entry["id"]] = {"error": f"{type(error).__name__}: {error}"}
    json.dump({"coremltools": ct.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
