// conv.cu — the CNN's kernels: 3×3 same-padding convolution by im2col of the
// whole batch + GEMM (the GEMM is gemm.cu's), its adjoint col2im, the
// per-channel bias and its gradient, and the 2×2 max-pool with its backward
// pass. Each computes what the CPU reference in kernels/conv.go computes
// (Im2Col3x3 and Col2Im3x3 per image, the channel bias and sum, MaxPool2).
//
// Build: make ptx (nvcc -ptx -arch=compute_70 -O3), embedded by cuda/ptx.go;
// checked by cuda/kernels_gpu_test.go (TestConv*, TestMaxPool2) on a GPU or
// the CPU emulator (make gpu-emu-test).
#include "common.cuh"

// grid-stride loop helpers (named apart from elementwise.cu's, since the
// emulator links every kernel file into one program)
__device__ __forceinline__ i64 convTid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 convStride() { return (i64)gridDim.x * blockDim.x; }

// --- batched: one launch per convolution for the whole batch -------------
//
// The batch's columns lie side by side: col (C·9, N·HW), column img·HW + p
// holding output pixel p of image img, so that one GEMM W (K, C·9) × col
// gives the whole batch's outputs as (K, N, HW); swap01_f32 turns that into
// the (N, K, HW) layout of the network, adding the bias on the way, and
// turns the output gradient (N, K, HW) into (K, N, HW) for the two backward
// GEMMs. Launches per convolution no longer grow with the batch.

// im2col3x3_batch unfolds x (N, C, H, W) into col (C·9, N·H·W).
extern "C" __global__ void im2col3x3_batch(const float* __restrict__ x, float* __restrict__ col, int n, int c, int h,
                                           int w) {
    const i64 hw = (i64)h * w, nhw = (i64)n * hw, total = (i64)c * 9 * nhw;
    for (i64 i = convTid(); i < total; i += convStride()) {
        const i64 row = i / nhw, q = i - row * nhw;
        const i64 img = q / hw;
        const int p = (int)(q - img * hw);
        const int ch = (int)(row / 9), k = (int)(row % 9);
        const int iy = p / w + k / 3 - 1, ix = p % w + k % 3 - 1;
        col[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((img * c + ch) * h + iy) * w + ix] : 0.0f;
    }
}

// col2im3x3_batch is im2col3x3_batch's adjoint: dx (N, C, H, W), each pixel
// the sum of the (at most 9) column entries that read it. It overwrites dx.
extern "C" __global__ void col2im3x3_batch(const float* __restrict__ col, float* __restrict__ dx, int n, int c, int h,
                                           int w) {
    const i64 hw = (i64)h * w, nhw = (i64)n * hw, total = (i64)n * c * hw;
    for (i64 i = convTid(); i < total; i += convStride()) {
        const i64 img = i / ((i64)c * hw);
        const i64 r = i - img * c * hw;
        const int ch = (int)(r / hw), p = (int)(r - (i64)ch * hw);
        const int iy = p / w, ix = p % w;
        float s = 0.0f;
        for (int ky = 0; ky < 3; ky++) {
            const int oy = iy - ky + 1;
            if (oy < 0 || oy >= h) continue;
            for (int kx = 0; kx < 3; kx++) {
                const int ox = ix - kx + 1;
                if (ox < 0 || ox >= w) continue;
                s += col[((i64)ch * 9 + ky * 3 + kx) * nhw + img * hw + (i64)oy * w + ox];
            }
        }
        dx[i] = s;
    }
}

// swap01_f32 writes dst (B, A, S) = src (A, B, S) with its first two axes
// swapped, plus bias[a] when bias is not NULL: dst[b, a, s] = src[a, b, s]
// + bias[a]. Reads and writes run along S, contiguous in both.
extern "C" __global__ void swap01_f32(const float* __restrict__ src, const float* __restrict__ bias,
                                      float* __restrict__ dst, int a, int b, int s) {
    const i64 total = (i64)a * b * s;
    for (i64 i = convTid(); i < total; i += convStride()) {
        const i64 bi = i / ((i64)a * s);
        const i64 r = i - bi * a * s;
        const int ai = (int)(r / s), si = (int)(r - (i64)ai * s);
        float v = src[((i64)ai * b + bi) * s + si];
        if (bias) v += bias[ai];
        dst[i] = v;
    }
}

// channel_bias_add adds b[ch] to every element of channel ch of y (N, C, S).
extern "C" __global__ void channel_bias_add(float* __restrict__ y, const float* __restrict__ b, int n, int c, int s) {
    const i64 total = (i64)n * c * s;
    for (i64 i = convTid(); i < total; i += convStride()) y[i] += b[(int)((i / s) % c)];
}

// channel_sum writes dst[ch] = Σ over N and S of x (N, C, S): one block per
// channel, summed in a fixed order (deterministic).
extern "C" __global__ void channel_sum(float* __restrict__ dst, const float* __restrict__ x, int n, int c, int s) {
    __shared__ float scratch[32];
    const int ch = blockIdx.x;
    float v = 0.0f;
    const i64 per = (i64)n * s;
    for (i64 j = threadIdx.x; j < per; j += blockDim.x) {
        const i64 e = j / s;
        v += x[(e * c + ch) * s + (j - e * s)];
    }
    v = blockSum(v, scratch);
    if (threadIdx.x == 0) dst[ch] = v;
}

// maxpool2_forward: x (P, H, W) planes → y (P, H/2, W/2), the max of each
// 2×2 window (first maximum in row-major order on ties, as the CPU), and
// idx, the flat index into x of each maximum, as float.
extern "C" __global__ void maxpool2_forward(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ idx,
                                            int planes, int h, int w) {
    const int oh = h / 2, ow = w / 2;
    const i64 n = (i64)planes * oh * ow;
    for (i64 i = convTid(); i < n; i += convStride()) {
        const i64 p = i / ((i64)oh * ow);
        const int q = (int)(i - p * oh * ow);
        const int oy = q / ow, ox = q % ow;
        const i64 base = p * h * w;
        i64 best = base + (i64)(2 * oy) * w + 2 * ox;
        const i64 cand[3] = {best + 1, best + w, best + w + 1};
        for (int k = 0; k < 3; k++)
            if (x[cand[k]] > x[best]) best = cand[k];
        y[i] = x[best];
        idx[i] = (float)best;
    }
}

// maxpool2_backward routes dy to the maxima: dx[idx[k]] = dy[k]. The 2×2
// windows do not overlap, so no two outputs write one input; dx must be
// zeroed first (the rest of dx stays 0). Indices are exact below 2^24.
extern "C" __global__ void maxpool2_backward(const float* __restrict__ dy, const float* __restrict__ idx, float* __restrict__ dx, int n) {
    for (i64 i = convTid(); i < n; i += convStride()) dx[(i64)idx[i]] = dy[i];
}
