"""Reads the Core ML models stridekit's coreml backend builds back through Apple's own tooling.

Run by test/coreml-model.test.js with the interpreter of .venv-coremltools (scripts/setup-coremltools.sh):

    python coreml_inspect.py manifest.json  ->  one JSON object on stdout, keyed by case id

manifest.json lists { id, package, weight, bias, precision, x, y, geometry, oracle } (weight and bias:
raw float32 files, channels first, as given to stridekit_coreml_model; x: the input as raw float32; y:
where to write the output; geometry: the tool's arguments; oracle: where to write coremltools' own
package for the same convolution). For each model this

  * opens the .mlpackage with coremltools.models.MLModel(skip_model_load=True): Apple's model-package
    reader and the specification's protobuf parser;
  * loads the ML Program with coremltools' MIL loader (converters.mil.frontend.milproto.load), which
    rebuilds every operation and runs its type inference;
  * reports the inferred output shape and dtype, the declared input/output features, every operation whose
    declared result type differs from the inferred one, the operation types, and whether the weights and
    bias read back equal the float32 (or float16-rounded) values given;
  * reports how the package stores its constants: which sit in weights/weight.bin (BlobFileValue) and
    which are immediate values, the weight file's header and per-blob metadata read here byte by byte
    (MIL blob storage, version 2: what coremltools' own BlobWriter writes), and whether Manifest.json
    registers the weights folder where coremltools' ModelPackage reader looks for it; the values
    themselves are read back through coremltools' BlobReader (the MIL loader), as Core ML reads them;
  * reports every pad op's pad length against its input's rank, and each conv_transpose's output_shape;
  * builds the oracle: the same convolution handed to coremltools as a frontend program written with its
    own MIL Builder (float32, explicit pads, bias in the convolution), converted by ct.convert with the
    deployment target and precision of the model, so coremltools' pass pipeline (float16 casts, constant
    folding and fusions) and its writer (weight file, package) decide everything else; saves that
    package, and compares the two programs op by op (type, result type and shape, every input: the op
    it comes from, or a constant's type, shape, storage and value) and the two packages' layouts;
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
import struct
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


# MIL blob storage, version 2 (what coremltools' libmilstoragepython BlobWriter writes): a 64-byte header
# { uint32 count; uint32 version; zeros }, then per blob at a 64-byte aligned offset 64 bytes of metadata
# { uint32 sentinel 0xDEADBEEF; uint32 data type; uint64 size in bytes; uint64 data offset; zeros }.
BLOB_ALIGNMENT = 64
BLOB_SENTINEL = 0xDEADBEEF
BLOB_TYPES = {10: (1, 2), 11: (2, 4)}  # MIL DataType fp16, fp32 -> (blob data type, bytes per value)
WEIGHT_FILE = "@model_path/weights/weight.bin"
MIN_FILE_ELEMENTS = 10  # coremltools' should_use_weight_file threshold (checked against it in main())


def proto_consts(spec):
    """name -> (dataType, shape, 'file' | 'immediate', fileName, offset) for every const of the program."""
    function = spec.mlProgram.functions["main"]
    consts = {}
    for op in function.block_specializations[function.opset].operations:
        if op.type != "const":
            continue
        (out,) = op.outputs
        tensor = out.type.tensorType
        val = op.attributes["val"]
        kind = "file" if val.WhichOneof("value") == "blobFileValue" else "immediate"
        consts[out.name] = (int(tensor.dataType), [d.constant.size for d in tensor.dimensions], kind,
                            val.blobFileValue.fileName if kind == "file" else None,
                            int(val.blobFileValue.offset) if kind == "file" else None)
    return consts


def storage_report(consts):
    """Constants stored where coremltools would not store them: large float tensors not in the weight
    file, small ones or non-floats in it, or a file other than weights/weight.bin."""
    wrong = []
    for name, (dtype, shape, kind, file_name, _) in consts.items():
        elements = 1
        for d in shape:
            elements *= d
        want = "file" if dtype in BLOB_TYPES and elements >= MIN_FILE_ELEMENTS else "immediate"
        if kind != want:
            wrong.append(f"{name} ({elements} elements): {kind}, coremltools stores it {want}")
        elif kind == "file" and file_name != WEIGHT_FILE:
            wrong.append(f"{name}: in {file_name}, not {WEIGHT_FILE}")
    return wrong


def weight_file_report(weights_dir, consts):
    """The weight file read byte by byte: its header and each blob's metadata, against the constants."""
    blobs = {name: c for name, c in consts.items() if c[2] == "file"}
    path = os.path.join(weights_dir, "weight.bin") if weights_dir else None
    if not path or not os.path.exists(path):
        return {"present": False, "blobs": 0, "problems": [] if not blobs else ["no weights/weight.bin"]}
    data = open(path, "rb").read()
    count, version = struct.unpack_from("<II", data, 0)
    problems = []
    if count != len(blobs):
        problems.append(f"header counts {count} blobs, the program points at {len(blobs)}")
    for name, (dtype, shape, _, _, offset) in blobs.items():
        blob_type, width = BLOB_TYPES[dtype]
        elements = 1
        for d in shape:
            elements *= d
        if offset % BLOB_ALIGNMENT or offset + BLOB_ALIGNMENT > len(data):
            problems.append(f"{name}: metadata offset {offset} unaligned or past the end ({len(data)} bytes)")
            continue
        sentinel, kind, size, at = struct.unpack_from("<IIQQ", data, offset)
        if sentinel != BLOB_SENTINEL:
            problems.append(f"{name}: sentinel {sentinel:#x}")
        if kind != blob_type:
            problems.append(f"{name}: blob data type {kind}, the constant's type needs {blob_type}")
        if size != elements * width:
            problems.append(f"{name}: {size} bytes, {elements} values need {elements * width}")
        if at != offset + BLOB_ALIGNMENT or at + size > len(data):
            problems.append(f"{name}: data at {at}, expected {offset + BLOB_ALIGNMENT} within {len(data)} bytes")
    return {"present": True, "version": version, "blobs": count, "problems": problems}


def package_layout(package):
    """The package's folders and files (relative paths) and its Manifest items, identifiers left out."""
    entries = []
    for base, dirs, files in os.walk(package):
        rel = os.path.relpath(base, package)
        entries += [os.path.normpath(os.path.join(rel, d)) + "/" for d in dirs]
        entries += [os.path.normpath(os.path.join(rel, f)) for f in files]
    with open(os.path.join(package, "Manifest.json")) as f:
        manifest = json.load(f)
    items = sorted((i["author"], i["description"], i["name"], i["path"]) for i in manifest["itemInfoEntries"].values())
    root = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["name"]
    return {"entries": sorted(entries), "items": [list(i) for i in items], "root": root,
            "fileFormatVersion": manifest["fileFormatVersion"]}


def describe_program(package, np, ct, mil_load):
    """The program of a package op by op (consts folded into the ops that use them)."""
    model = ct.models.MLModel(package, skip_model_load=True)
    spec = model.get_spec()
    consts = proto_consts(spec)
    function = mil_load.load(spec, spec.specificationVersion, model.weights_dir).functions["main"]
    index = {name: "input" for name in function.inputs}
    ops = []
    for op in function.operations:
        if op.op_type == "const":
            continue
        inputs = {}
        for param, var in sorted(op.inputs.items()):
            if var.op is not None and var.op.op_type == "const":
                value = np.asarray(var.val)
                stored = consts[var.name][2] if var.name in consts else "immediate"
                inputs[param] = ("const", str(value.dtype), list(value.shape), stored, value)
            else:
                inputs[param] = ("from", index[var.name])
        (out,) = op.outputs
        ops.append((op.op_type, out.dtype.__name__, [int(d) for d in out.shape], inputs))
        index[out.name] = f"op {len(ops) - 1} ({op.op_type})"
    return ops


def compare_programs(ours, theirs, np):
    """Every difference between two programs described by describe_program(), as sentences."""
    diffs = []
    types = lambda ops: [op[0] for op in ops]
    if types(ours) != types(theirs):
        return [f"operations {types(ours)}, coremltools writes {types(theirs)}"]
    for i, ((op, dtype, shape, inputs), (_, dtype2, shape2, inputs2)) in enumerate(zip(ours, theirs)):
        where = f"op {i} ({op})"
        if (dtype, shape) != (dtype2, shape2):
            diffs.append(f"{where}: result {dtype} {shape}, coremltools {dtype2} {shape2}")
        if sorted(inputs) != sorted(inputs2):
            diffs.append(f"{where}: inputs {sorted(inputs)}, coremltools {sorted(inputs2)}")
            continue
        for param in inputs:
            a, b = inputs[param], inputs2[param]
            if a[0] != b[0] or (a[0] == "from" and a != b):
                diffs.append(f"{where}.{param}: {a[:4]}, coremltools {b[:4]}")
            elif a[0] == "const":
                if a[1:4] != b[1:4]:
                    diffs.append(f"{where}.{param}: {a[1:4]}, coremltools {b[1:4]}")
                elif not np.array_equal(a[4], b[4]):
                    diffs.append(f"{where}.{param}: values differ ({a[4].reshape(-1)[:6]} vs {b[4].reshape(-1)[:6]})")
    return diffs


def interleave(begin, end):
    return [v for pair in zip(begin, end) for v in pair]


def build_oracle(entry, np, ct, mb):
    """coremltools' own package for the convolution of entry (see the module's docstring)."""
    g = entry["geometry"]
    rank, groups, (C, K) = g["rank"], g["groups"], g["channels"]
    kernel, strides, dilations = g["kernel"], g["stride"], g["dilation"]
    n, out, begin, end = g["in-size"], g["out-size"], g["pad-begin"], g["pad-end"]
    transposed, channels_last = g["transposed"] == 1, g["layout"] == "last"
    weight = np.fromfile(entry["weight"], dtype="<f4").reshape(
        ([C, K // groups] if transposed else [K, C // groups]) + list(kernel))
    bias = np.fromfile(entry["bias"], dtype="<f4") if entry.get("bias") else None
    shape = [g["batch"]] + (list(n) + [C] if channels_last else [C] + list(n))

    @mb.program(input_specs=[mb.TensorSpec(shape=tuple(shape))], opset_version=ct.target.macOS12)
    def program(x):
        if channels_last:
            x = mb.transpose(x=x, perm=[0, rank + 1] + list(range(1, rank + 1)))
        common = dict(strides=strides, dilations=dilations, groups=groups, pad_type="custom")
        if not transposed:
            y = mb.conv(x=x, weight=weight, pad=interleave(begin, end), **common,
                        **({"bias": bias} if bias is not None else {}))
        else:
            # MIL's conv_transpose size: (n - 1) * s + (k - 1) * d + 1 - pad begin - pad end, per dimension;
            # what the crop cannot reach (outputPadding) is appended as zeros by a constant pad.
            full = [(n[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 for i in range(rank)]
            crop = [max(0, full[i] - begin[i] - out[i]) for i in range(rank)]
            reached = [full[i] - begin[i] - crop[i] for i in range(rank)]
            extra = [out[i] - reached[i] for i in range(rank)]
            in_conv = bias is not None and not any(extra)
            y = mb.conv_transpose(x=x, weight=weight, pad=interleave(begin, crop),
                                  output_shape=[g["batch"], K] + reached, **common,
                                  **({"bias": bias} if in_conv else {}))
            if any(extra):
                y = mb.pad(x=y, pad=[0, 0, 0, 0] + interleave([0] * rank, extra), mode="constant", constant_val=0.0)
                if bias is not None:
                    y = mb.add(x=y, y=bias.reshape([1, K] + [1] * rank))
        if g["activation"] != "none":
            y = getattr(mb, g["activation"])(x=y)
        if channels_last:
            y = mb.transpose(x=y, perm=[0] + list(range(2, rank + 2)) + [1])
        return y

    precision = ct.precision.FLOAT16 if entry["precision"] == "fp16" else ct.precision.FLOAT32
    model = ct.convert(program, convert_to="mlprogram", minimum_deployment_target=ct.target.macOS12,
                       compute_precision=precision, skip_model_load=True)
    model.save(entry["oracle"])


def feature_shapes(features):
    return {f.name: list(f.type.multiArrayType.shape) for f in features}


def against_oracle(entry, np, ct, mil_load, mb):
    build_oracle(entry, np, ct, mb)
    ours = describe_program(entry["package"], np, ct, mil_load)
    theirs = describe_program(entry["oracle"], np, ct, mil_load)
    layout, oracle_layout = package_layout(entry["package"]), package_layout(entry["oracle"])
    return {
        "operations": [op[0] for op in theirs],
        "differences": compare_programs(ours, theirs, np),
        "layout": layout if layout != oracle_layout else "same",
        "oracleLayout": oracle_layout,
    }


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
    consts = proto_consts(spec)
    pads = [{"pad": len(op.pad.val), "inputRank": op.x.rank} for op in ops if op.op_type == "pad"]
    transposes = [{"outputShape": None if op.output_shape is None else [int(v) for v in op.output_shape.val],
                   "shape": [int(d) for d in op.outputs[0].shape]} for op in ops if op.op_type == "conv_transpose"]

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
        "pads": pads,
        "convTranspose": transposes,
        "misplacedConstants": storage_report(consts),
        "fileConstants": sorted(name for name, c in consts.items() if c[2] == "file"),
        "weightFile": weight_file_report(model.weights_dir, consts),
        "weightsItem": model.weights_dir is not None and os.path.samefile(
            model.weights_dir, os.path.join(entry["package"], "Data", "com.apple.CoreML", "weights")),
        "weightEqual": read_back_equal("weight", entry.get("weight")),
        "biasEqual": read_back_equal("bias", entry.get("bias"), "bias_broadcast"),
    }


def check(entry):
    """Everything reported for one manifest entry; errors are reported per model, so a bad one names itself."""
    np, ct, mil_load, types, mb, mil = quiet_import()
    try:
        result = inspect(entry, np, ct, mil_load, types, mb, mil)
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    if entry.get("oracle"):
        try:
            # ct.convert reports its passes on stderr with progress bars; the test reads stdout only.
            import io
            import contextlib
            with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result["oracle"] = against_oracle(entry, np, ct, mil_load, mb)
        except Exception as error:
            result["oracle"] = {"error": f"{type(error).__name__}: {error}"}
    return result


def main():
    np, ct, mil_load, types, mb, mil = quiet_import()
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    # The threshold this script checks the storage against is coremltools' own.
    from coremltools.converters.mil.backend.mil.load import should_use_weight_file
    threshold = [should_use_weight_file(np.zeros(k, np.float32)) for k in (MIN_FILE_ELEMENTS - 1, MIN_FILE_ELEMENTS)]
    # Most of the time is ct.convert's pass pipeline on the oracles, one model at a time: spread the
    # models over the machine's cores.
    import multiprocessing
    with multiprocessing.Pool(max(1, min(len(manifest), os.cpu_count() or 1))) as pool:
        checked = pool.map(check, manifest, chunksize=1)
    results = {entry["id"]: result for entry, result in zip(manifest, checked)}
    json.dump({"coremltools": ct.__version__, "fileThreshold": threshold == [False, True], "results": results},
              sys.stdout)


if __name__ == "__main__":
    main()
