#!/usr/bin/python3
"""Test models for the conversion specs: small conv networks with seeded weights, traced and saved
with torch.jit.save (the fp32 TorchScript a user hands over), plus a calibration .npz.

Usage: make_model.py --out DIR [--kind convnet|unconvertible]
       make_model.py --out DIR --kind digits-calibration --digits-script .../build_digits.py
         (64 training digits of the fidelity fixture's split, never its held-out eval set)
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class ConvNet(nn.Module):
    """Weights dominate the file (about 1.2 MB fp32), so int8 is about 4x smaller."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
        )
        self.fc = nn.Linear(128 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class Unconvertible(ConvNet):
    """Has a Conv3d: fine in fp32 and int8-dynamic, but QNNPACK has no int8 conv3d kernel."""

    def __init__(self):
        super().__init__()
        self.conv3d = nn.Conv3d(1, 1, 1)

    def forward(self, x):
        x = self.conv3d(x.unsqueeze(1)).squeeze(1)
        return self.fc(torch.flatten(self.features(x), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kind", default="convnet", choices=["convnet", "unconvertible", "digits-calibration"])
    ap.add_argument("--digits-script")
    args = ap.parse_args()
    if args.kind == "digits-calibration":
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.digits_script)))
        from build_digits import split_digits
        (xtr, _), _ = split_digits()
        os.makedirs(args.out, exist_ok=True)
        np.savez(os.path.join(args.out, "digits-calibration.npz"), inputs=np.ascontiguousarray(xtr[:64], dtype=np.float32))
        return
    torch.manual_seed(7)
    m = (ConvNet() if args.kind == "convnet" else Unconvertible()).eval()
    example = torch.randn(1, 1, 8, 8)
    traced = torch.jit.trace(m, example)
    os.makedirs(args.out, exist_ok=True)
    torch.jit.save(traced, os.path.join(args.out, f"{args.kind}.pt"))
    rng = np.random.default_rng(3)
    np.savez(os.path.join(args.out, "calibration.npz"), inputs=rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    np.savez(os.path.join(args.out, "calibration-wrong.npz"), inputs=rng.standard_normal((4, 3, 8, 8)).astype(np.float32))


if __name__ == "__main__":
    main()
