#!/usr/bin/env python3
# Reference (b) of the throughput suite: the same network, optimizer and batches in PyTorch, timed per epoch.
"""Trains a network given in Microsoft.ML.Morphism's JSON form on the first N Fashion-MNIST training
images and prints one JSON line with the seconds of every epoch.

The loop matches the C# bare loop (benchmarks/Microsoft.ML.Morphism.Benchmarks/Training/BareTrainingLoop.cs):
batches pre-built as tensors, SGD with Nesterov momentum 0.9, weight decay 5e-4 on conv/dense weights only,
the trainer's default schedule (peak 0.05, linear warm-up over the first epoch, cosine decay to 0, set
before every batch), P-activations clamped to [0, 1] after each step, the loss read every batch. Debian's python3-torch is
PyTorch 1.13.1 (CPU); the C# side runs libtorch 2.10, so this compares two different libtorch versions.

Usage: python3 train_throughput.py --network net.json --batch 64 --images 6400 --epochs 3 --threads 2 [--interactive]
With --interactive it prints a "ready" line, then runs one epoch per "epoch" line read from stdin and
prints its seconds, so that the benchmark runner can interleave PyTorch's epochs with its own.
Install: sudo apt-get install -y python3-torch
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.stderr.write("PyTorch is not importable by this python; install Debian's: sudo apt-get install -y python3-torch\n")
    sys.exit(3)

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    sizes = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return sizes, data[4 + 4 * dims:]


def idx_path(folder, name):
    for candidate in (os.path.join(folder, name + ".gz"), os.path.join(folder, name)):
        if os.path.exists(candidate):
            return candidate
    sys.stderr.write(f"{name}(.gz) not found in {folder}; sudo apt-get install -y dataset-fashion-mnist\n")
    sys.exit(4)


def load(folder, count):
    (n, rows, cols), pixels = read_idx(idx_path(folder, "train-images-idx3-ubyte"))
    (_,), labels = read_idx(idx_path(folder, "train-labels-idx1-ubyte"))
    count = min(count, n)
    x = torch.frombuffer(bytearray(pixels[:count * rows * cols]), dtype=torch.uint8).float().div_(255).reshape(count, 1, rows, cols)
    y = torch.frombuffer(bytearray(labels[:count]), dtype=torch.uint8).long()
    return x, y


class PActivation(nn.Module):
    """phi_a(x) = (1 - a) * phi(x) + a * x with a learnable scalar a, clamped to [0, 1] after each step."""

    def __init__(self, phi):
        super().__init__()
        self.phi = phi
        self.a = nn.Parameter(torch.full((1,), 0.25))

    def forward(self, x):
        return self.phi(x) * (1 - self.a) + x * self.a


ACTIVATIONS = {"reLU": F.relu, "tanH": torch.tanh, "sigmoid": torch.sigmoid, "eLU": F.elu, "gELU": F.gelu}


def build(description):
    """nn.Sequential for the description; shapes are tracked as the C# shape inference does."""
    channels, height, width = description["input"]
    features = None  # set once the blob is a vector
    layers = []
    for layer in description["layers"]:
        kind = layer["kind"]
        if kind == "conv":
            k, s, p, d = layer["kernelSize"], layer["stride"], layer["padding"], layer["dilation"]
            layers.append(nn.Conv2d(channels, layer["outChannels"], k, stride=s, padding=p, dilation=d, groups=layer["groups"], bias=layer["bias"]))
            channels = layer["outChannels"]
            height, width = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n in (height, width)]
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(channels, eps=layer["epsilon"], momentum=layer["momentum"]) if features is None
                          else nn.BatchNorm1d(features, eps=layer["epsilon"], momentum=layer["momentum"]))
        elif kind == "activation":
            phi = ACTIVATIONS[layer["activation"]]
            layers.append(PActivation(phi) if layer["parametric"] else Lambda(phi))
        elif kind == "pool":
            k, s, p = layer["kernelSize"], layer["stride"], layer["padding"]
            layers.append((nn.MaxPool2d if layer["pool"] == "max" else nn.AvgPool2d)(k, stride=s, padding=p))
            height, width = [(n + 2 * p - k) // s + 1 for n in (height, width)]
        elif kind == "gap":
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            features = channels
        elif kind == "flatten":
            layers.append(nn.Flatten())
            features = channels * height * width if features is None else features
        elif kind == "dense":
            layers.append(nn.Linear(features, layer["units"], bias=layer["bias"]))
            features = layer["units"]
        elif kind == "dropout":
            layers.append(nn.Dropout(layer["rate"]))
        else:
            sys.stderr.write(f"layer kind '{kind}' is not supported by this script\n")
            sys.exit(5)
    return nn.Sequential(*layers)


class Lambda(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def learning_rate(progress, epochs, peak=0.05, warmup_epochs=1.0):
    """TrainingRecipe.LearningRateAt: linear warm-up, then a half cosine to zero at the end of the last epoch."""
    warmup = min(warmup_epochs, epochs / 2)
    if warmup > 0 and progress < warmup:
        return peak * max(progress, 1e-3 * warmup) / warmup
    if epochs <= warmup:
        return peak
    t = min(max((progress - warmup) / (epochs - warmup), 0.0), 1.0)
    return peak * 0.5 * (1 + math.cos(math.pi * t))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--network", required=True, help="network JSON file (NetworkDescription.ToJson)")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--images", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interactive", action="store_true", help="run one epoch per 'epoch' line on stdin (--epochs still sets the schedule)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.network) as f:
        model = build(json.load(f))
    x, y = load(args.data, args.images)
    batches = [(x[i:i + args.batch].contiguous(), y[i:i + args.batch].contiguous()) for i in range(0, len(y), args.batch)]

    # The trainer's parameter groups: decayed weights, other parameters, and the P-activations' a (its own
    # learning-rate factor in the trainer's recipe; 1 by default, so the same rate here).
    linearity = [p for name, p in model.named_parameters() if name.endswith(".a")]
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for name, p in model.named_parameters() if p.dim() < 2 and not name.endswith(".a")]
    groups = [{"params": decayed, "weight_decay": 5e-4}, {"params": other, "weight_decay": 0}]
    if linearity:
        groups.append({"params": linearity, "weight_decay": 0})
    optimizer = torch.optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=True)
    activations = [m for m in model.modules() if isinstance(m, PActivation)]

    generator = torch.Generator().manual_seed(args.seed)
    model.train()

    def run_epoch(epoch):
        order = torch.randperm(len(batches), generator=generator).tolist()
        start = time.perf_counter()
        for b, i in enumerate(order):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(epoch + b / len(order), args.epochs)
            xb, yb = batches[i]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for m in activations:
                    m.a.clamp_(0, 1)
            loss.item()
        return time.perf_counter() - start

    header = {"torch": torch.__version__, "threads": torch.get_num_threads(), "images": len(y), "batch": args.batch}
    if args.interactive:
        # One epoch per "epoch" line on stdin, so the caller can interleave them with its own epochs.
        print(json.dumps(dict(header, ready=True)), flush=True)
        epoch = 0
        for line in sys.stdin:
            if line.strip() != "epoch":
                break
            print(json.dumps({"seconds": run_epoch(epoch)}), flush=True)
            epoch += 1
        return
    print(json.dumps(dict(header, epochSeconds=[run_epoch(epoch) for epoch in range(args.epochs)])))


if __name__ == "__main__":
    main()
