// groupnorm.cu: GroupNorm and RMSNorm, forward and backward, float32.
//
// GroupNorm normalizes x laid out (N, C, S) (S = H·W after a convolution,
// 1 after a Linear) per example over each of G groups of C/G consecutive
// channels: a group of example n is the M = (C/G)·S contiguous floats at
// (n·G + g)·M, its "row". γ and β are per channel. RMSNorm scales each row
// of an N×D matrix by 1/√(mean(x²)+ε) and a per-feature γ: no mean, no β.
//
// Reference: kernels/groupnorm.go (GroupNormForward, GroupNormBackward,
// RMSNormForward, RMSNormBackward); cuda/kernels_gpu_test.go compares every
// kernel here with it on random inputs.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file.
//
// How each is built (memory-bound; the bytes that count are in
// kernels.NormBytes): one block per row, its thread count picked by the
// host for the row length (32 for short rows up to 256 for long ones;
// blockSum works for any multiple of 32). Forward: the row's sum, then
// its squared deviations from the mean (two exact passes; the second and
// the output re-read the row, from L1/L2 for rows of a few thousand
// floats), then y. Backward: Σγ·dy and Σγ·dy·x̂ over the row, then dx; the
// per-channel sums of dy and dy·x̂ (dβ, dγ) go to an N×C scratch, one row
// per example (written directly by the thread owning the element when
// S = 1; block sums per channel when S > 1), and *_bwd_finalize adds the N
// rows per channel in double, in order. Every reduction adds in a fixed
// order, so results are reproducible.
#include "common.cuh"

// gn_forward: grid N·G blocks; block b is row b = n·G + g. mean, invstd
// (N·G) receive each row's statistics.
extern "C" __global__ void __launch_bounds__(256)
gn_forward(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
           int N, int C, int S, int G, float eps, float* __restrict__ y, float* __restrict__ mean,
           float* __restrict__ invstd) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    const int cg = C / G, M = cg * S;
    const int c0 = (row % G) * cg;
    const float* xr = x + (i64)row * M;
    float s = 0.0f;
    for (int j = threadIdx.x; j < M; j += blockDim.x) s += xr[j];
    const float m = blockSum(s, scratch) / (float)M;
    float q = 0.0f;
    for (int j = threadIdx.x; j < M; j += blockDim.x) {
        const float d = xr[j] - m;
        q += d * d;
    }
    const float is = 1.0f / sqrtf(blockSum(q, scratch) / (float)M + eps);
    float* yr = y + (i64)row * M;
    for (int j = threadIdx.x; j < M; j += blockDim.x) {
        const int c = c0 + j / S;
        yr[j] = gamma[c] * ((xr[j] - m) * is) + beta[c];
    }
    if (threadIdx.x == 0) {
        mean[row] = m;
        invstd[row] = is;
    }
}

// gn_backward: grid N·G blocks, as gn_forward. dx = invstd·(γ·dy − a − x̂·q)
// with a = Σγ·dy/M, q = Σγ·dy·x̂/M over the row; pdgamma, pdbeta (N×C)
// receive example n's Σdy·x̂ and Σdy per channel of the group.
extern "C" __global__ void __launch_bounds__(256)
gn_backward(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
            const float* __restrict__ mean, const float* __restrict__ invstd, int N, int C, int S, int G,
            float* __restrict__ dx, float* __restrict__ pdgamma, float* __restrict__ pdbeta) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    const int n = row / G, cg = C / G, M = cg * S;
    const int c0 = (row % G) * cg;
    const i64 off = (i64)row * M;
    const float *xr = x + off, *gr = dy + off;
    const float m = mean[row], is = invstd[row];
    float* pg = pdgamma + (i64)n * C + c0;
    float* pb = pdbeta + (i64)n * C + c0;
    float a, q;
    if (S == 1) {
        float sg = 0.0f, sgx = 0.0f;
        for (int j = threadIdx.x; j < M; j += blockDim.x) {
            const float g = gr[j], xh = (xr[j] - m) * is, gg = g * gamma[c0 + j];
            pb[j] = g;
            pg[j] = g * xh;
            sg += gg;
            sgx += gg * xh;
        }
        a = blockSum(sg, scratch) / (float)M;
        q = blockSum(sgx, scratch) / (float)M;
    } else {
        // per channel k of the group: Σdy and Σdy·x̂ over its S positions
        // (block sums, in every thread), weighted by γ into the row's sums
        float sg = 0.0f, sgx = 0.0f;
        for (int k = 0; k < cg; k++) {
            float db = 0.0f, dg = 0.0f;
            for (int p = threadIdx.x; p < S; p += blockDim.x) {
                const float g = gr[k * S + p], xh = (xr[k * S + p] - m) * is;
                db += g;
                dg += g * xh;
            }
            db = blockSum(db, scratch);
            dg = blockSum(dg, scratch);
            if (threadIdx.x == 0) {
                pb[k] = db;
                pg[k] = dg;
            }
            const float ga = gamma[c0 + k];
            sg += ga * db;
            sgx += ga * dg;
        }
        a = sg / (float)M;
        q = sgx / (float)M;
    }
    float* dr = dx + off;
    for (int j = threadIdx.x; j < M; j += blockDim.x) {
        const float xh = (xr[j] - m) * is;
        dr[j] = is * (gr[j] * gamma[c0 + j / S] - a - xh * q);
    }
}

// rms_forward: grid N blocks, one per row of D floats; invrms (N)
// receives 1/√(mean(x²)+ε).
extern "C" __global__ void __launch_bounds__(256)
rms_forward(const float* __restrict__ x, const float* __restrict__ gamma, int N, int D, float eps,
            float* __restrict__ y, float* __restrict__ invrms) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    const float* xr = x + (i64)row * D;
    float q = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) q += xr[j] * xr[j];
    const float r = 1.0f / sqrtf(blockSum(q, scratch) / (float)D + eps);
    float* yr = y + (i64)row * D;
    for (int j = threadIdx.x; j < D; j += blockDim.x) yr[j] = gamma[j] * (xr[j] * r);
    if (threadIdx.x == 0) invrms[row] = r;
}

// rms_backward: grid N blocks. dx = r·(γ·dy − x̂·q), x̂ = x·r,
// q = Σγ·dy·x̂/D over the row; pdgamma (N×D) receives dy·x̂.
extern "C" __global__ void __launch_bounds__(256)
rms_backward(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
             const float* __restrict__ invrms, int N, int D, float* __restrict__ dx,
             float* __restrict__ pdgamma) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    const i64 off = (i64)row * D;
    const float *xr = x + off, *gr = dy + off;
    const float r = invrms[row];
    float* pg = pdgamma + off;
    float sgx = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) {
        const float g = gr[j], xh = xr[j] * r;
        pg[j] = g * xh;
        sgx += g * gamma[j] * xh;
    }
    const float q = blockSum(sgx, scratch) / (float)D;
    float* dr = dx + off;
    for (int j = threadIdx.x; j < D; j += blockDim.x) dr[j] = r * (gr[j] * gamma[j] - xr[j] * r * q);
}

// norm_rows_finalize: out1[j] = Σ_n p1[n, j] and, when p2 is not NULL,
// out2[j] = Σ_n p2[n, j] (N rows of D, added in order in double).
extern "C" __global__ void norm_rows_finalize(const float* __restrict__ p1, const float* __restrict__ p2, int N,
                                              int D, float* __restrict__ out1, float* __restrict__ out2) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= D) return;
    double a = 0.0, b = 0.0;
    for (int n = 0; n < N; n++) {
        a += p1[(i64)n * D + j];
        if (p2 != NULL) b += p2[(i64)n * D + j];
    }
    out1[j] = (float)a;
    if (p2 != NULL) out2[j] = (float)b;
}
