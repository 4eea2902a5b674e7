"""Reads the Core ML models stridekit's coreml backend builds back through Apple's own tooling.

Run by test/coreml-model.test.js with the interpreter of .venv-coremltools (scripts/setup-coremltools.sh):

    python coreml_inspect.py manifest.json  ->  one JSON object on stdout, keyed by case id

manifest.json lists { id, package, weight, bias, precision } (weight and bias: raw float32 files, channels
first, as given to stridekit_coreml_model). For each model this

  * opens the .mlpackage with coremltools.models.MLModel(skip_model_load=True): Apple's model-package
    reader and the specification's protobuf parser;
  * loads the ML Program with coremltools' MIL loader (converters.mil.frontend.milproto.load), which
    rebuilds every operation and runs its type inference;
  * reports the inferred output shape and dtype, the declared input/output features, every operation whose
    declared result type differs from the inferred one, the operation types, and whether the weights and
    bias read back equal the float32 (or float16-rounded) values given.

coremltools cannot run a model on Linux (its libcoremlpython, which calls Core ML, ships for macOS only),
so nothing here is numerical evaluation: the numbers come from the macOS plugin's conformance run.
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
    return np, ct, mil_load, types


def feature_shapes(features):
    return {f.name: list(f.type.multiArrayType.shape) for f in features}


def inspect(entry, np, ct, mil_load, types):
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
    return {
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
    np, ct, mil_load, types = quiet_import()
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    results = {}
    for entry in manifest:
        try:
            results[entry["id"]] = inspect(entry, np, ct, mil_load, types)
        except Exception as error:  # reported per model, so one bad model names itself
            results[entry["id"]] = {"error": f"{type(error).__name__}: {error}"}
    json.dump({"coremltools": ct.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
