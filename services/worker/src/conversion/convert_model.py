#!/usr/bin/python3
"""Turns an fp32 TorchScript model into one mobile variant (pocketbench's conversion job).

Recipes (PyTorch 1.13, graph-mode quantization on the scripted model, qnnpack engine):
  fp32          optimize_for_mobile, saved for the lite interpreter (.ptl), or torch.onnx.export (.onnx)
  int8-dynamic  quantize_dynamic_jit (Linear/LSTM weights int8, activations quantized at run time)
  int8-static   quantize_jit with the qnnpack qconfig, calibrated on the given batches

Deterministic: one thread, fixed seeds, the same calibration batches in the same order; the
output is loaded back in the lite interpreter and run once before it is accepted.

Usage: convert_model.py --model in.pt --recipe int8-static --format ptl --out out.ptl
         [--calibration cal.npz | --calibration-samples N] --input-shape 1x3x224x224 [--seed S]
Prints one JSON document on stdout. Exit 0: converted; exit 3: the model cannot be converted
(JSON {"error": {"kind", "op", "message"}}); anything else is a fault of this host.
"""
import argparse
import hashlib
import json
import os
import re
import sys
import traceback

MODEL_ERROR_EXIT = 3


def fail_model(kind, message, op=None):
    print(json.dumps({"error": {"kind": kind, "op": op, "message": message[:4000]}}))
    sys.exit(MODEL_ERROR_EXIT)


OP_PATTERNS = [
    # "Could not run 'quantized::conv2d.new' with arguments from the 'CPU' backend"
    re.compile(r"Could not run '([a-z_]+::[A-Za-z0-9_.]+)'"),
    re.compile(r"Unknown builtin op: ([a-z_]+::[A-Za-z0-9_.]+)"),
    re.compile(r"\b((?:aten|quantized|prepacked|_quantized)::[A-Za-z0-9_.]+)"),
]


def op_of(message):
    for p in OP_PATTERNS:
        m = p.search(message)
        if m:
            return m.group(1)
    return None


def quantized_op_without_kernel(module, message):
    """QNNPACK refuses some quantized ops without naming them ("QNNPACK only supports conv2d_unpack
    right now"): name the quantized op of the graph it means (the 3-d and transposed convolutions)."""
    if "QNNPACK" not in message:
        return None
    try:
        graph = str(module.inlined_graph)
    except Exception:  # noqa: BLE001
        return None
    ops = sorted(set(re.findall(r"quantized::(conv(?:_transpose)?3d[a-z_]*|conv_transpose[12]d[a-z_]*)", graph)))
    return f"quantized::{ops[0]}" if ops else None


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--recipe", required=True, choices=["fp32", "int8-dynamic", "int8-static"])
    ap.add_argument("--format", default="ptl", choices=["ptl", "onnx"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--calibration")
    ap.add_argument("--calibration-samples", type=int, default=8)
    ap.add_argument("--input-shape", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        print(f"output directory of {args.out} does not exist", file=sys.stderr)
        sys.exit(1)

    import numpy as np
    import torch
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        get_default_qconfig,
        quantize_dynamic_jit,
        quantize_jit,
    )
    from torch.utils.mobile_optimizer import optimize_for_mobile

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.backends.quantized.engine = "qnnpack"
    shape = [int(d) for d in args.input_shape.split("x")]

    try:
        model = torch.jit.load(args.model, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any load failure is the model's
        fail_model("not_torchscript", f"torch.jit.load could not read the model: {e}", op_of(str(e)))
    model.eval()

    recipe = {"name": args.recipe, "format": args.format, "torchVersion": torch.__version__, "engine": "qnnpack",
              "seed": args.seed, "inputShape": shape}
    calibration = None
    if args.recipe == "int8-static":
        if args.calibration:
            with np.load(args.calibration, allow_pickle=False) as npz:
                name = "inputs" if "inputs" in npz.files else npz.files[0]
                data = np.ascontiguousarray(npz[name], dtype=np.float32)
            if list(data.shape[1:]) == shape[1:]:
                batches = [torch.from_numpy(data[i:i + shape[0]].copy()) for i in range(0, data.shape[0], shape[0])]
            else:
                batches = [torch.from_numpy(data[i].reshape(shape).copy()) for i in range(data.shape[0])]
            calibration = {"source": "file", "sha256": sha256_file(args.calibration), "array": name,
                           "samples": int(data.shape[0])}
        else:
            g = torch.Generator().manual_seed(args.seed)
            batches = [torch.randn(shape, generator=g) for _ in range(args.calibration_samples)]
            calibration = {"source": "generated", "samples": args.calibration_samples,
                           "generator": f"torch.randn seed {args.seed}"}
        recipe["calibration"] = calibration

    example = torch.randn(shape, generator=torch.Generator().manual_seed(args.seed + 1))
    try:
        if args.recipe == "fp32":
            converted = model
            recipe["qconfig"] = None
        elif args.recipe == "int8-dynamic":
            converted = quantize_dynamic_jit(model, {"": default_dynamic_qconfig})
            recipe["qconfig"] = "default_dynamic_qconfig (per-tensor int8 weights, dynamic activations)"
        else:
            qconfig = get_default_qconfig("qnnpack")
            recipe["qconfig"] = f"get_default_qconfig('qnnpack'): {qconfig}"

            def calibrate(m, data):
                with torch.no_grad():
                    for b in data:
                        m(b)

            converted = quantize_jit(model, {"": qconfig}, calibrate, [batches])
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()
        fail_model("quantization_failed", f"{args.recipe}: quantizing failed: {' '.join(msg[:6])}", op_of(str(e)))

    try:
        if args.format == "onnx":
            with torch.no_grad():
                torch.onnx.export(converted, (example,), args.out, opset_version=13, input_names=["input"],
                                  output_names=["output"], do_constant_folding=True)
            recipe["exporter"] = "torch.onnx.export opset 13"
        else:
            optimized = optimize_for_mobile(converted)
            optimized._save_for_lite_interpreter(args.out)
            recipe["optimizer"] = "optimize_for_mobile + _save_for_lite_interpreter"
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()
        op = op_of(str(e)) or quantized_op_without_kernel(converted, str(e))
        kind = "unsupported_op" if op else "export_failed"
        what = f"{op} has no {recipe['engine']} kernel: " if op else "export failed: "
        fail_model(kind, f"{args.recipe} {args.format}: {what}{' '.join(msg[:6])}", op)

    # The output must run where it will be benchmarked: a missing kernel shows up here, not on the device.
    if args.format == "ptl":
        try:
            from torch.jit.mobile import _load_for_lite_interpreter
            lite = _load_for_lite_interpreter(args.out)
            with torch.no_grad():
                lite(example)
        except Exception as e:  # noqa: BLE001
            os.unlink(args.out)
            msg = str(e).strip().splitlines()
            fail_model("unsupported_op", f"{args.recipe}: the converted model does not run in the lite interpreter: "
                       f"{' '.join(msg[:6])}", op_of(str(e)))

    print(json.dumps({"recipe": recipe, "sha256": sha256_file(args.out), "sizeBytes": os.path.getsize(args.out)}))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - a crash here is the host's, retried by the queue
        traceback.print_exc()
        sys.exit(1)
