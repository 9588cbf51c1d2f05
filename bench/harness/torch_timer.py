#!/usr/bin/python3
"""Times a .ptl with torch.utils.benchmark.Timer (a tool none of us wrote), on the lite interpreter.
Usage: torch_timer.py MODEL THREADS INPUT_FILE D0xD1x... MIN_RUN_TIME_S  → JSON {median_us, mean_us, min_us (fastest block), blocks}"""
import json
import sys

import numpy as np
import torch
import torch.utils.benchmark as benchmark
from torch.jit.mobile import _load_for_lite_interpreter

model, threads, input_file, shape, min_run_time = sys.argv[1:6]
torch.backends.quantized.engine = "qnnpack"
torch.set_num_threads(int(threads))
shape = [int(d) for d in shape.split("x")]
x = torch.from_numpy(np.fromfile(input_file, dtype="<f4").reshape(shape))
m = _load_for_lite_interpreter(model)
for _ in range(3):
    m(x)
timer = benchmark.Timer(stmt="m(x)", globals={"m": m, "x": x}, num_threads=int(threads))
result = timer.blocked_autorange(min_run_time=float(min_run_time))
print(json.dumps({"median_us": result.median * 1e6, "mean_us": result.mean * 1e6, "min_us": min(result.times) * 1e6, "blocks": len(result.times)}))
