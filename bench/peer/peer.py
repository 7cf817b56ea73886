#!/usr/bin/env python3
"""PyTorch peer of `normtap bench`: the same model, init, optimizer and batch,
timed the same way, printed as JSON with the same result keys.

Model --model mlp: per hidden layer Linear -> norm (none | BatchNorm1d |
LayerNorm | GroupNorm(min(--groups, width)) | RMSNorm, written out: torch
1.13 has none) -> ReLU, then a Linear to the classes. --model cnn (--hidden
gives the channel counts, e.g. 16,32): per block Conv2d 3x3 padding 1 ->
norm (none | BatchNorm2d | GroupNorm(1, C): LayerNorm's statistics over
C, H, W with per-channel gamma/beta, where normtap's are per value |
GroupNorm(min(--groups, C), C) | RMSNorm over C, H, W) -> ReLU, and
MaxPool2d(2) after each block while the map is at least 8x8 (normtap's
rule), then a Linear from the flattened features to the classes.
--model resnet (--hidden gives the stage widths, e.g. 16,32,64; --blocks
the blocks per stage): stem Conv2d 3x3 -> norm -> ReLU; per stage (a
MaxPool2d(2) first for every stage after the first, while the map is at
least 8x8) --blocks residual blocks relu(norm(conv3x3(relu(norm(conv3x3(x)))))
+ skip(x)), skip a bias-free 1x1 Conv2d and its norm where the width
changes; AdaptiveAvgPool2d(1), Linear. Its "layer" is LayerNorm over
[C, H, W] (per-value gamma/beta, as normtap's). Its init is normtap's: He
convs, gamma 1; with norm none (Fixup) each block's second conv at 0 and
its first scaled by L^-1/2 for L blocks.
Hidden (and conv) weights ~ N(0, 2/fan_in) (He), the output weights
~ N(0, 2/(fan_in+fan_out)) (Glorot), biases 0, gamma 1, beta 0. Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8). float32. Random data
of MNIST's shape (784 features, 10 classes).

Data: a pool of 8192 random examples (pixels uniform in [0, 1), labels
uniform), cycled batch by batch, as normtap bench does.

Timing: --warmup untimed steps, then --steps steps each timed on its own
(zero_grad, forward, loss, backward, optimizer step); median/p10/p90 ms;
examples_per_sec = batch / median seconds. forward_ms_median: the forward
pass alone up to the logits, in training mode, under no_grad.

    python3 bench/peer/peer.py --norm none,batch,layer --threads 2
    python3 bench/peer/peer.py --model cnn --hidden 16,32 --threads 1
    python3 bench/peer/peer.py --model resnet --hidden 16,32,64 --blocks 1
"""
import argparse
import json
import math
import platform
import sys
import time

import torch

POOL_EXAMPLES = 8192  # as normtap bench's bench.PoolExamples

class RMSNorm(torch.nn.Module):
    """x / sqrt(mean(x^2) + eps) * gamma per example over every dim but the
    first (the features; C, H, W for 4-D), gamma per value, as normtap's."""

    def __init__(self, shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(shape))

    def forward(self, x):
        dims = tuple(range(1, x.dim()))
        return x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + self.eps) * self.weight


NORMS = ("none", "batch", "layer", "group", "rms")


def build(hidden, norm, in_features=784, classes=10, groups=32):
    layers = []
    fan_in = in_features
    for h in hidden:
        lin = torch.nn.Linear(fan_in, h)
        torch.nn.init.normal_(lin.weight, 0.0, math.sqrt(2.0 / fan_in))
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if norm == "batch":
            layers.append(torch.nn.BatchNorm1d(h, eps=1e-5, momentum=0.1))
        elif norm == "layer":
            layers.append(torch.nn.LayerNorm(h, eps=1e-5))
        elif norm == "group":
            layers.append(torch.nn.GroupNorm(min(groups, h), h, eps=1e-5))
        elif norm == "rms":
            layers.append(RMSNorm(h, eps=1e-5))
        layers.append(torch.nn.ReLU())
        fan_in = h
    out = torch.nn.Linear(fan_in, classes)
    torch.nn.init.normal_(out.weight, 0.0, math.sqrt(2.0 / (fan_in + classes)))
    torch.nn.init.zeros_(out.bias)
    layers.append(out)
    return torch.nn.Sequential(*layers)


def build_cnn(channels, norm, in_channels=1, rows=28, cols=28, classes=10, groups=32):
    layers = []
    c = in_channels
    for k in channels:
        conv = torch.nn.Conv2d(c, k, 3, padding=1)
        torch.nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (c * 9)))
        torch.nn.init.zeros_(conv.bias)
        layers.append(conv)
        if norm == "batch":
            layers.append(torch.nn.BatchNorm2d(k, eps=1e-5, momentum=0.1))
        elif norm == "layer":
            layers.append(torch.nn.GroupNorm(1, k, eps=1e-5))
        elif norm == "group":
            layers.append(torch.nn.GroupNorm(min(groups, k), k, eps=1e-5))
        elif norm == "rms":
            layers.append(RMSNorm((k, rows, cols), eps=1e-5))
        layers.append(torch.nn.ReLU())
        if rows >= 8 and cols >= 8:  # normtap's graph.PoolMinSize
            layers.append(torch.nn.MaxPool2d(2))
            rows, cols = rows // 2, cols // 2
        c = k
    fan_in = c * rows * cols
    out = torch.nn.Linear(fan_in, classes)
    torch.nn.init.normal_(out.weight, 0.0, math.sqrt(2.0 / (fan_in + classes)))
    torch.nn.init.zeros_(out.bias)
    layers += [torch.nn.Flatten(), out]
    return torch.nn.Sequential(*layers)


def norm_2d(norm, c, rows, cols, groups):
    """The norm after a conv with c channels on rows x cols maps (resnet)."""
    if norm == "batch":
        return torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
    if norm == "layer":
        return torch.nn.LayerNorm([c, rows, cols], eps=1e-5)
    if norm == "group":
        return torch.nn.GroupNorm(min(groups, c), c, eps=1e-5)
    if norm == "rms":
        return RMSNorm((c, rows, cols), eps=1e-5)
    return torch.nn.Identity()


def he_conv(c, k, size, scale=1.0, bias=True):
    conv = torch.nn.Conv2d(c, k, size, padding=size // 2, bias=bias)
    torch.nn.init.normal_(conv.weight, 0.0, scale * math.sqrt(2.0 / (c * size * size)))
    if bias:
        torch.nn.init.zeros_(conv.bias)
    return conv


class ResidualBlock(torch.nn.Module):
    def __init__(self, c, k, rows, cols, norm, groups, conv1_scale, conv2_scale):
        super().__init__()
        self.conv1 = he_conv(c, k, 3, conv1_scale)
        self.norm1 = norm_2d(norm, k, rows, cols, groups)
        self.conv2 = he_conv(k, k, 3, conv2_scale)
        self.norm2 = norm_2d(norm, k, rows, cols, groups)
        self.proj = None
        if c != k:
            self.proj = torch.nn.Sequential(he_conv(c, k, 1, bias=False), norm_2d(norm, k, rows, cols, groups))

    def forward(self, x):
        h = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))
        return torch.relu(h + (x if self.proj is None else self.proj(x)))


def build_resnet(widths, blocks, norm, in_channels=1, rows=28, cols=28, classes=10, groups=32):
    layers = [he_conv(in_channels, widths[0], 3), norm_2d(norm, widths[0], rows, cols, groups), torch.nn.ReLU()]
    c = widths[0]
    conv1_scale, conv2_scale = 1.0, 1.0
    if norm == "none":  # Fixup, as normtap's graph/resnet.go
        conv1_scale, conv2_scale = 1.0 / math.sqrt(len(widths) * blocks), 0.0
    for i, k in enumerate(widths):
        if i > 0 and rows >= 8 and cols >= 8:
            layers.append(torch.nn.MaxPool2d(2))
            rows, cols = rows // 2, cols // 2
        for _ in range(blocks):
            layers.append(ResidualBlock(c, k, rows, cols, norm, groups, conv1_scale, conv2_scale))
            c = k
    out = torch.nn.Linear(c, classes)
    torch.nn.init.normal_(out.weight, 0.0, math.sqrt(2.0 / (c + classes)))
    torch.nn.init.zeros_(out.bias)
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), out]
    return torch.nn.Sequential(*layers)


def blas_info():
    """The OpenBLAS kernel and thread count of the BLAS this PyTorch loaded
    (Debian's links libblas.so.3, OpenBLAS by default), or {}."""
    import ctypes
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return {"kernel": lib.openblas_get_corename().decode(), "threads": lib.openblas_get_num_threads()}
    except (OSError, AttributeError):
        return {}


def percentile(sorted_vals, p):
    """Linear interpolation between closest ranks, as numpy's default."""
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def bench_one(model_kind, norm, hidden, batch, steps, warmup, device, seed, groups=32, blocks=1):
    torch.manual_seed(seed)
    if model_kind == "resnet":
        model = build_resnet(hidden, blocks, norm, groups=groups).to(device)
        shape = (batch, 1, 28, 28)
    elif model_kind == "cnn":
        model = build_cnn(hidden, norm, groups=groups).to(device)
        shape = (batch, 1, 28, 28)
    else:
        model = build(hidden, norm, groups=groups).to(device)
        shape = (batch, 784)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()
    # A pool of POOL_EXAMPLES random examples, cycled batch by batch, as
    # normtap bench does: one batch repeated drives the loss to ~1e-4 and
    # the gradients into subnormal floats, which are many times slower.
    g = torch.Generator().manual_seed(seed + 1)
    nb = max(2, -(-POOL_EXAMPLES // batch))
    xs = [torch.rand(*shape, generator=g).to(device) for _ in range(nb)]
    ys = [torch.randint(0, 10, (batch,), generator=g).to(device) for _ in range(nb)]
    pos = [0]

    def data():
        i = pos[0]
        pos[0] = (i + 1) % nb
        return xs[i], ys[i]

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step(*data())
    sync()
    times = []
    last = None
    for _ in range(steps):
        x, y = data()
        t0 = time.perf_counter()
        last = step(x, y)
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    fwd = []
    with torch.no_grad():
        for _ in range(max(3, warmup)):
            model(data()[0])
        sync()
        for _ in range(steps):
            x = data()[0]
            t0 = time.perf_counter()
            model(x)
            sync()
            fwd.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    fwd.sort()
    med = percentile(times, 50)
    return {
        "norm": norm,
        "device": device,
        "model": model_kind,
        "batch": batch,
        "hidden": hidden,
        "examples_per_sec": batch / (med / 1e3),
        "ms_per_step_median": med,
        "ms_per_step_p10": percentile(times, 10),
        "ms_per_step_p90": percentile(times, 90),
        "forward_ms_median": percentile(fwd, 50),
        "steps": steps,
        "warmup": warmup,
        "last_loss": float(last),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0: the number of CPUs")
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn", "resnet"])
    ap.add_argument("--hidden", default="", help="hidden widths (mlp, default 1024,1024), channel counts (cnn, default 16,32) or stage widths (resnet, default 16,32,64)")
    ap.add_argument("--blocks", type=int, default=1, help="residual blocks per stage (resnet)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--norm", default="none,batch,layer")
    ap.add_argument("--groups", type=int, default=32, help="GroupNorm's groups (clipped to each width)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default="", help="also write the JSON here")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("peer.py: --device cuda: this PyTorch sees no CUDA device", file=sys.stderr)
        sys.exit(1)
    threads = a.threads if a.threads > 0 else (len(__import__("os").sched_getaffinity(0)))
    torch.set_num_threads(threads)
    default_hidden = {"mlp": "1024,1024", "cnn": "16,32", "resnet": "16,32,64"}[a.model]
    hidden = [int(h) for h in (a.hidden or default_hidden).split(",")]
    norms = [n.strip() for n in a.norm.split(",") if n.strip()]
    for n in norms:
        if n not in NORMS:
            print(f"peer.py: --norm {n!r}: want one of {', '.join(NORMS)}", file=sys.stderr)
            sys.exit(2)
    results = [bench_one(a.model, n, hidden, a.batch, a.steps, a.warmup, a.device, a.seed, a.groups, a.blocks) for n in norms]
    base = {r["norm"]: r for r in results}.get("none")
    for r in results:
        r["norm_overhead"] = r["ms_per_step_median"] / base["ms_per_step_median"] if base else None
    out = {
        "tool": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_info(),
        "machine": {"nproc": len(__import__("os").sched_getaffinity(0)), "cpu": platform.processor() or platform.machine()},
        "results": results,
    }
    text = json.dumps(out, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
