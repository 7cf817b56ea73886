// optim.cu: optimizer updates on a parameter w and its gradient g, n floats,
// with PyTorch's semantics:
//   sgd:      w ← w − lr·g
//   momentum: v ← μ·v + g;  w ← w − lr·v           (v starts at 0)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
//             w ← w − step·m / (√v·isq + ε),  step = lr/(1−β₁ᵗ), isq = 1/√(1−β₂ᵗ)
// step and isq are computed on the host for step t (1-based), exactly as
// kernels/optim.go (AdamUpdate) does, which is the CPU reference.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file.
//
// vec != 0: all pointers 16-byte aligned, float4 body plus a scalar tail.
#include "common.cuh"

__device__ __forceinline__ i64 gtid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 gstride() { return (i64)gridDim.x * blockDim.x; }

__device__ __forceinline__ void momentum1(float& w, float g, float& v, float lr, float mu) {
    v = mu * v + g;
    w -= lr * v;
}

__device__ __forceinline__ void adam1(float& w, float g, float& m, float& v, float step, float b1, float b2,
                                      float eps, float isq) {
    m = b1 * m + (1.0f - b1) * g;
    v = b2 * v + (1.0f - b2) * g * g;
    w -= step * m / (sqrtf(v) * isq + eps);
}

extern "C" __global__ void sgd_update(float* __restrict__ w, const float* __restrict__ g, int n, float lr, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 a = ((float4*)w)[i], b = ((const float4*)g)[i];
            a.x -= lr * b.x; a.y -= lr * b.y; a.z -= lr * b.z; a.w -= lr * b.w;
            ((float4*)w)[i] = a;
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) w[i] -= lr * g[i];
}

extern "C" __global__ void momentum_update(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ v,
                                           int n, float lr, float mu, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 a = ((float4*)w)[i], b = ((const float4*)g)[i], c = ((float4*)v)[i];
            momentum1(a.x, b.x, c.x, lr, mu);
            momentum1(a.y, b.y, c.y, lr, mu);
            momentum1(a.z, b.z, c.z, lr, mu);
            momentum1(a.w, b.w, c.w, lr, mu);
            ((float4*)w)[i] = a;
            ((float4*)v)[i] = c;
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) momentum1(w[i], g[i], v[i], lr, mu);
}

// adam_step advances Adam's step counter held in device memory and
// computes that step's scalars, as the Go side's AdamUpdate does on the
// host (float64 powers, then float32): sc[0] = t (exact below 2^24 steps),
// sc[1] = lr/(1−β₁ᵗ), sc[2] = 1/√(1−β₂ᵗ). One thread. With it (and
// adam_update reading sc), a training step has no per-step host arguments
// and can be captured once as a CUDA graph.
extern "C" __global__ void adam_step(float* sc, float lr, float b1, float b2) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    const float t = sc[0] + 1.0f;
    const float bc1 = (float)(1.0 - pow((double)b1, (double)t));
    const float bc2 = (float)(1.0 - pow((double)b2, (double)t));
    sc[0] = t;
    sc[1] = lr / bc1;
    sc[2] = 1.0f / (float)sqrt((double)bc2);
}

// adam_update: one Adam step of n parameters; step and isq come from the
// arguments, or from sc[1] and sc[2] (adam_step's) when sc is not NULL.
extern "C" __global__ void adam_update(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                                       float* __restrict__ v, int n, float step, float b1, float b2, float eps,
                                       float isq, int vec, const float* __restrict__ sc) {
    if (sc != NULL) {
        step = sc[1];
        isq = sc[2];
    }
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 a = ((float4*)w)[i], b = ((const float4*)g)[i], c = ((float4*)m)[i], d = ((float4*)v)[i];
            adam1(a.x, b.x, c.x, d.x, step, b1, b2, eps, isq);
            adam1(a.y, b.y, c.y, d.y, step, b1, b2, eps, isq);
            adam1(a.z, b.z, c.z, d.z, step, b1, b2, eps, isq);
            adam1(a.w, b.w, c.w, d.w, step, b1, b2, eps, isq);
            ((float4*)w)[i] = a;
            ((float4*)m)[i] = c;
            ((float4*)v)[i] = d;
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) adam1(w[i], g[i], m[i], v[i], step, b1, b2, eps, isq);
}
