"""Golden values for normtap's layers, computed with PyTorch.

Regenerate from the repository root with Debian's python3-torch (1.13, CPU):

    /usr/bin/python3 layers/testdata/gen_golden.py

It overwrites layers/testdata/golden.json (next to this script), which
layers/golden_test.go reads. Everything is float32, eps=1e-5, momentum=0.1,
from a fixed seed, so the output depends only on the torch version.

Layouts follow normtap (layers/doc.go): every array is flattened row-major;
"shape" is the input's shape. Linear's "w" is normtap's (in, out) matrix,
i.e. torch's weight transposed, and a 4-D input is flattened to (N, in).
LayerNorm over a 4-D input normalizes [C, H, W]; its γ/β are the C·H·W
values of torch's (C, H, W) weight/bias, flattened.

Cases:
  batchnorm   BatchNorm1d (8x6) and BatchNorm2d (4x3x5x5), training mode:
              forward on step 1's batch, gradients for upstream "dy";
              running_mean/running_var after three training forwards on the
              three batches in "steps"; then eval mode on "x_eval": output
              and gradients for the same "dy".
  layernorm   LayerNorm over [F] (8x6) and over [C,H,W] (4x3x5x5):
              output and gradients for upstream "dy".
  linear      (8x6)->5 and (4x3x5x5)->7: output, gradients for "dy".
  activation  relu (inputs kept away from 0), gelu (exact, torch's
              default), sigmoid, tanh: output and gradient for "dy".
  cross_entropy  mean softmax cross-entropy of logits (8x10, with rows
              shifted by +-1000 to exercise stability) against integer
              labels (stored as floats): loss and gradient wrt the logits.
  groupnorm   torch.nn.GroupNorm on (8x12, 4 groups), (4x6x5x5, 3 groups)
              and (4x6x5x5, 6 groups: InstanceNorm): per-channel γ/β
              ("groups" says how many), output and gradients for "dy".
  rmsnorm     RMSNorm (torch 1.13 has no module, so written out:
              y = x·rsqrt(mean(x², over all but dim 0) + eps)·γ, no β) over
              [F] (8x6) and [C,H,W] (4x3x5x5); γ is per feature (C·H·W
              values for 4-D), output and gradients for "dy" by autograd.
  conv1x1     bias-free 1x1 convolution (2x3x4x5)->4 channels: output,
              gradients for "dy"; "w" is torch's (K, C, 1, 1) weight as
              normtap's (K, C) matrix (the same values).
  global_avg_pool  mean over H, W of (3x4x5x6) -> (3x4): output, gradient.
  maxpool2    2x2 max-pool, stride 2, of (2x3x5x4) (odd H: the last row is
              dropped), inputs distinct so the maxima are unique: output,
              gradient.

Cases are generated in this order from one generator: new cases go at the
end of main(), so the values of the existing ones stay as they are.
"""

import json
import os

import torch
import torch.nn.functional as F

EPS = 1e-5
MOMENTUM = 0.1
SEED = 20240607

gen = torch.Generator().manual_seed(SEED)


def randn(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def flat(t):
    # 9 significant digits round-trip float32 exactly.
    return [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]


def scale_param(*shape):
    """γ with |γ| in [0.5, 2] and either sign: away from 0, so that every
    gradient scaled by γ is large enough to check."""
    sign = torch.where(torch.rand(*shape, generator=gen) < 0.25, -1.0, 1.0)
    return sign * (0.5 + 1.5 * torch.rand(*shape, generator=gen))


def channel_batch(shape, shift, scale):
    """Random input whose channels (dim 1) have their own mean and spread."""
    c = shape[1]
    view = [1, c] + [1] * (len(shape) - 2)
    return randn(*shape) * scale.reshape(view) + shift.reshape(view)


def batchnorm_case(name, shape):
    c = shape[1]
    module = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(
        c, eps=EPS, momentum=MOMENTUM)
    gamma = scale_param(c)
    beta = 0.5 * randn(c)
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    steps = [channel_batch(shape, 2 * randn(c), 0.5 + torch.rand(c, generator=gen) * 2)
             for _ in range(3)]
    dy = randn(*shape)

    module.train()
    x = steps[0].clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    out = {
        "name": name, "shape": list(shape), "gamma": flat(gamma), "beta": flat(beta),
        "steps": [flat(s) for s in steps], "dy": flat(dy),
        "y": flat(y), "dx": flat(x.grad),
        "dgamma": flat(module.weight.grad), "dbeta": flat(module.bias.grad),
    }
    with torch.no_grad():
        for s in steps[1:]:
            module(s)
    out["running_mean"] = flat(module.running_mean)
    out["running_var"] = flat(module.running_var)

    module.eval()
    module.weight.grad = None
    module.bias.grad = None
    x_eval = channel_batch(shape, 2 * randn(c), 0.5 + torch.rand(c, generator=gen) * 2)
    x = x_eval.clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    out.update({
        "x_eval": flat(x_eval), "y_eval": flat(y), "dx_eval": flat(x.grad),
        "dgamma_eval": flat(module.weight.grad), "dbeta_eval": flat(module.bias.grad),
    })
    return out


def layernorm_case(name, shape):
    normalized = list(shape[1:])
    module = torch.nn.LayerNorm(normalized, eps=EPS)
    gamma = scale_param(*normalized)
    beta = 0.5 * randn(*normalized)
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    # Each example gets its own offset and spread.
    n = shape[0]
    view = [n] + [1] * (len(shape) - 1)
    x0 = randn(*shape) * (0.5 + torch.rand(n, generator=gen) * 2).reshape(view) \
        + (2 * randn(n)).reshape(view)
    dy = randn(*shape)
    x = x0.clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    return {
        "name": name, "shape": list(shape), "gamma": flat(gamma), "beta": flat(beta),
        "x": flat(x0), "dy": flat(dy), "y": flat(y), "dx": flat(x.grad),
        "dgamma": flat(module.weight.grad), "dbeta": flat(module.bias.grad),
    }


def linear_case(name, shape, out_features):
    n = shape[0]
    in_features = 1
    for d in shape[1:]:
        in_features *= d
    x0 = randn(*shape)
    weight = randn(out_features, in_features) / in_features ** 0.5  # torch layout (out, in)
    bias = randn(out_features)
    dy = randn(n, out_features)
    x = x0.clone().requires_grad_(True)
    w = weight.clone().requires_grad_(True)
    b = bias.clone().requires_grad_(True)
    y = F.linear(x.reshape(n, in_features), w, b)
    y.backward(dy)
    return {
        "name": name, "shape": list(shape), "out": out_features,
        "x": flat(x0), "w": flat(weight.t()), "b": flat(bias), "dy": flat(dy),
        "y": flat(y), "dx": flat(x.grad), "dw": flat(w.grad.t()), "db": flat(b.grad),
    }


def activation_case(name, fn, x0):
    dy = randn(*x0.shape)
    x = x0.clone().requires_grad_(True)
    y = fn(x)
    y.backward(dy)
    return {"name": name, "shape": list(x0.shape), "x": flat(x0), "dy": flat(dy),
            "y": flat(y), "dx": flat(x.grad)}


def activation_input():
    x = 3 * randn(8, 8)
    x = torch.where(x.abs() < 0.05, torch.full_like(x, 0.5), x)  # relu: keep off the kink
    x[0, :4] = torch.tensor([-30.0, -12.0, 12.0, 30.0])  # saturated tails
    return x


def cross_entropy_case(name, n, k):
    logits0 = 3 * randn(n, k)
    logits0[1] += 1000  # exp(1000) overflows even float64: the max must be subtracted
    logits0[2] -= 1000
    labels = torch.randint(0, k, (n,), generator=gen)
    logits = logits0.clone().requires_grad_(True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return {
        "name": name, "shape": [n, k], "logits": flat(logits0),
        "labels": [float(v) for v in labels.tolist()],
        "loss": float("%.9g" % loss.item()), "dlogits": flat(logits.grad),
    }


def example_batch(shape):
    """Random input whose examples (dim 0) and channels have their own
    mean and spread."""
    n, c = shape[0], shape[1]
    x = channel_batch(shape, 2 * randn(c), 0.5 + torch.rand(c, generator=gen) * 2)
    view = [n] + [1] * (len(shape) - 1)
    return x * (0.5 + torch.rand(n, generator=gen)).reshape(view) + (2 * randn(n)).reshape(view)


def groupnorm_case(name, shape, groups):
    c = shape[1]
    module = torch.nn.GroupNorm(groups, c, eps=EPS)
    gamma = scale_param(c)
    beta = 0.5 * randn(c)
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    x0 = example_batch(shape)
    dy = randn(*shape)
    x = x0.clone().requires_grad_(True)
    y = module(x)
    y.backward(dy)
    return {
        "name": name, "shape": list(shape), "groups": groups, "gamma": flat(gamma), "beta": flat(beta),
        "x": flat(x0), "dy": flat(dy), "y": flat(y), "dx": flat(x.grad),
        "dgamma": flat(module.weight.grad), "dbeta": flat(module.bias.grad),
    }


def rmsnorm_case(name, shape):
    normalized = list(shape[1:])
    gamma0 = scale_param(*normalized)
    x0 = example_batch(shape)
    dy = randn(*shape)
    x = x0.clone().requires_grad_(True)
    gamma = gamma0.clone().requires_grad_(True)
    dims = tuple(range(1, len(shape)))
    y = x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + EPS) * gamma
    y.backward(dy)
    return {
        "name": name, "shape": list(shape), "gamma": flat(gamma0),
        "x": flat(x0), "dy": flat(dy), "y": flat(y), "dx": flat(x.grad), "dgamma": flat(gamma.grad),
    }


def conv1x1_case(name, shape, k):
    c = shape[1]
    x0 = randn(*shape)
    weight = randn(k, c, 1, 1) / c ** 0.5
    dy = randn(shape[0], k, shape[2], shape[3])
    x = x0.clone().requires_grad_(True)
    w = weight.clone().requires_grad_(True)
    y = F.conv2d(x, w)
    y.backward(dy)
    return {"name": name, "shape": list(shape), "k": k, "x": flat(x0), "w": flat(weight),
            "dy": flat(dy), "y": flat(y), "dx": flat(x.grad), "dw": flat(w.grad)}


def global_avg_pool_case(name, shape):
    x0 = randn(*shape)
    dy = randn(shape[0], shape[1])
    x = x0.clone().requires_grad_(True)
    y = F.adaptive_avg_pool2d(x, 1).reshape(shape[0], shape[1])
    y.backward(dy)
    return {"name": name, "shape": list(shape), "x": flat(x0), "dy": flat(dy),
            "y": flat(y), "dx": flat(x.grad)}


def maxpool2_case(name, shape):
    n = 1
    for d in shape:
        n *= d
    x0 = (torch.randperm(n, generator=gen).to(torch.float32) / n - 0.5).reshape(*shape)
    dy = randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    x = x0.clone().requires_grad_(True)
    y = F.max_pool2d(x, 2)
    y.backward(dy)
    return {"name": name, "shape": list(shape), "x": flat(x0), "dy": flat(dy),
            "y": flat(y), "dx": flat(x.grad)}


def main():
    torch.manual_seed(SEED)
    golden = {
        "generator": "layers/testdata/gen_golden.py",
        "torch": torch.__version__,
        "eps": EPS,
        "momentum": MOMENTUM,
        "batchnorm": [
            batchnorm_case("BatchNorm1d/8x6", (8, 6)),
            batchnorm_case("BatchNorm2d/4x3x5x5", (4, 3, 5, 5)),
        ],
        "layernorm": [
            layernorm_case("LayerNorm/8x6", (8, 6)),
            layernorm_case("LayerNorm/4x3x5x5", (4, 3, 5, 5)),
        ],
        "linear": [
            linear_case("Linear/8x6to5", (8, 6), 5),
            linear_case("Linear/4x3x5x5to7", (4, 3, 5, 5), 7),
        ],
        "activation": [],
        "cross_entropy": [cross_entropy_case("CrossEntropy/8x10", 8, 10)],
    }
    for name, fn in [("relu", F.relu), ("gelu", F.gelu), ("sigmoid", torch.sigmoid),
                     ("tanh", torch.tanh)]:
        golden["activation"].append(activation_case(name, fn, activation_input()))
    # New cases from here on (see the docstring).
    golden["groupnorm"] = [
        groupnorm_case("GroupNorm/8x12/G4", (8, 12), 4),
        groupnorm_case("GroupNorm/4x6x5x5/G3", (4, 6, 5, 5), 3),
        groupnorm_case("GroupNorm/4x6x5x5/G6", (4, 6, 5, 5), 6),
    ]
    golden["rmsnorm"] = [
        rmsnorm_case("RMSNorm/8x6", (8, 6)),
        rmsnorm_case("RMSNorm/4x3x5x5", (4, 3, 5, 5)),
    ]
    golden["conv1x1"] = [conv1x1_case("Conv1x1/2x3x4x5->4", (2, 3, 4, 5), 4)]
    golden["global_avg_pool"] = [global_avg_pool_case("GlobalAvgPool/3x4x5x6", (3, 4, 5, 6))]
    golden["maxpool2"] = [maxpool2_case("MaxPool2/2x3x5x4", (2, 3, 5, 4))]

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
    with open(path, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
