// norm.cu: BatchNorm and LayerNorm, forward and backward, float32.
//
// BatchNorm normalizes x laid out (N, C, S) per channel: channel c's
// elements are x[(n·C + c)·S + s]. After a Linear S = 1 and a channel is a
// column of an N×C matrix ("2d" kernels); after a convolution S = H·W and a
// channel is N runs of S contiguous floats ("4d" kernels). LayerNorm
// normalizes each row of an N×D matrix over its D features.
//
// Reference: kernels/kernels.go (BatchNormTrainForward, BatchNormEvalForward,
// BatchNormUpdateRunning, BatchNormBackward, LayerNormForward,
// LayerNormBackward); the checks in cuda/kernels_gpu_test.go compare every
// kernel here with it on random inputs.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file.
//
// How each is built (memory-bound; the bytes that count are in
// cuda.NormBytes):
//
// BatchNorm train forward = bn_stats_partial → bn_stats_finalize →
// bn_apply. A channel's statistics need all N·S of its elements before any
// output, so x is read twice; the grid is split into row chunks (R of them)
// and bn_apply walks the chunks in reverse order of the statistics pass, so
// its first reads are the ones most recently read, still in L2, and it
// reads x for the last time and writes y with evict-first hints, to leave
// the rest of x there. Partial
// sums are of x − x[first element of the channel], which keeps Σ(x−shift)²
// free of the cancellation Σx² − N·mean² suffers when |mean| ≫ std; the R
// partials are combined in double.
//
// BatchNorm backward = bn_bwd_partial (Σdy, Σdy·x̂ per channel; in eval mode
// it also writes dx = γ·invstd·dy, which needs no sums) → bn_bwd_finalize
// (dγ, dβ) → bn_bwd_dx (train mode), again in reverse chunk order.
//
// LayerNorm forward: a group of G threads per row (G = 32, one warp, for
// D ≤ 1024; G = 256, the block, for D ≤ 4096), each thread holding K float4
// of the row in registers: x is read once, the mean and then the variance
// are two exact passes over registers (no E[x²] − mean² cancellation), y is
// written once. LayerNorm backward: the same groups, persistent over rows;
// each thread owns the same columns on every row, so it accumulates dγ, dβ
// for them in registers, the groups of a block are combined in a fixed
// order in shared memory, and ln_bwd_finalize adds the blocks' rows. Rows
// whose D is not a multiple of 4, or longer than 4096, or unaligned, take
// the *_generic kernels (block per row, re-reading from cache).
//
// Every reduction adds in a fixed order, so results are reproducible.
#include "common.cuh"

// ---------------------------------------------------------------------------
// Vector helpers: V floats at p, as one float4 when V == 4.

template <int V>
struct Vec {
    float v[V];
};

template <int V>
__device__ __forceinline__ Vec<V> loadV(const float* p) {
    Vec<V> r;
    if (V == 4) {
        float4 t = *(const float4*)p;
        r.v[0] = t.x; r.v[1] = t.y; r.v[2] = t.z; r.v[3] = t.w;
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) r.v[i] = p[i];
    }
    return r;
}

// loadStreamV loads with the evict-first hint (ld.global.cs): for a last
// read, so that the lines of x still to be re-read stay in L2.
template <int V>
__device__ __forceinline__ Vec<V> loadStreamV(const float* p) {
    Vec<V> r;
    if (V == 4) {
        float4 t = __ldcs((const float4*)p);
        r.v[0] = t.x; r.v[1] = t.y; r.v[2] = t.z; r.v[3] = t.w;
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) r.v[i] = __ldcs(p + i);
    }
    return r;
}

// storeStreamV stores with the evict-first hint (st.global.cs).
template <int V>
__device__ __forceinline__ void storeStreamV(float* p, const Vec<V>& r) {
    if (V == 4) {
        __stcs((float4*)p, make_float4(r.v[0], r.v[1], r.v[2], r.v[3]));
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) __stcs(p + i, r.v[i]);
    }
}

// ---------------------------------------------------------------------------
// BatchNorm, 2d (S == 1). Grid (ceil(C / 32V), R), block (32, 8): block
// (bx, r) covers channels [32V·bx, 32V·(bx+1)) over rows [r·rowsPer,
// (r+1)·rowsPer); thread (tx, ty) owns V adjacent channels and every 8th row
// of the chunk. V = 4 needs C % 4 == 0 and 16-byte aligned pointers.

// bnReduce8 adds the 8 row lanes' values of each channel (in lane order)
// and returns, in threads ty == 0, the total for their channels.
template <int V>
__device__ __forceinline__ void bnReduce8(float (&a)[V], float (&b)[V]) {
    __shared__ float sa[8][32 * V + 1], sb[8][32 * V + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
#pragma unroll
    for (int i = 0; i < V; i++) {
        sa[ty][tx * V + i] = a[i];
        sb[ty][tx * V + i] = b[i];
    }
    __syncthreads();
    if (ty == 0) {
#pragma unroll
        for (int i = 0; i < V; i++) {
            float ta = 0.0f, tb = 0.0f;
#pragma unroll
            for (int k = 0; k < 8; k++) {
                ta += sa[k][tx * V + i];
                tb += sb[k][tx * V + i];
            }
            a[i] = ta;
            b[i] = tb;
        }
    }
}

template <int V>
__device__ void bnStatsPartial2d(const float* __restrict__ x, int N, int C, int rowsPer,
                                 float* __restrict__ psum, float* __restrict__ psq) {
    const int c0 = (blockIdx.x * 32 + threadIdx.x) * V;
    const int r0 = blockIdx.y * rowsPer, r1 = min(N, r0 + rowsPer);
    float s[V], q[V], shift[V];
#pragma unroll
    for (int i = 0; i < V; i++) s[i] = q[i] = shift[i] = 0.0f;
    if (c0 < C) {
        Vec<V> sh = loadV<V>(x + c0); // row 0: the shift
#pragma unroll
        for (int i = 0; i < V; i++) shift[i] = sh.v[i];
#pragma unroll 4
        for (int r = r0 + threadIdx.y; r < r1; r += 8) {
            Vec<V> v = loadV<V>(x + (i64)r * C + c0);
#pragma unroll
            for (int i = 0; i < V; i++) {
                float d = v.v[i] - shift[i];
                s[i] += d;
                q[i] += d * d;
            }
        }
    }
    bnReduce8<V>(s, q);
    if (threadIdx.y == 0 && c0 < C) {
#pragma unroll
        for (int i = 0; i < V; i++) {
            psum[(i64)blockIdx.y * C + c0 + i] = s[i];
            psq[(i64)blockIdx.y * C + c0 + i] = q[i];
        }
    }
}

// bn_stats_partial_2d: partial sums of x − x[0, c] and of its square per
// channel and row chunk, into psum, psq (R×C each).
extern "C" __global__ void __launch_bounds__(256)
bn_stats_partial_2d(const float* x, int N, int C, int rowsPer, float* psum, float* psq, int vec) {
    if (vec) bnStatsPartial2d<4>(x, N, C, rowsPer, psum, psq);
    else bnStatsPartial2d<1>(x, N, C, rowsPer, psum, psq);
}

// bn_stats_partial_4d: the same for S > 1. Grid (C, R), block 256: block
// (c, r) covers samples [r·nPer, (r+1)·nPer) of channel c.
extern "C" __global__ void __launch_bounds__(256)
bn_stats_partial_4d(const float* __restrict__ x, int N, int C, int S, int nPer,
                    float* __restrict__ psum, float* __restrict__ psq) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const int n0 = blockIdx.y * nPer, n1 = min(N, n0 + nPer);
    const float shift = x[(i64)c * S];
    const int total = (n1 - n0) * S;
    float s = 0.0f, q = 0.0f;
    for (int t = threadIdx.x; t < total; t += blockDim.x) {
        const int n = n0 + t / S, p = t - (t / S) * S;
        const float d = x[((i64)n * C + c) * S + p] - shift;
        s += d;
        q += d * d;
    }
    s = blockSum(s, scratch);
    q = blockSum(q, scratch);
    if (threadIdx.x == 0) {
        psum[(i64)blockIdx.y * C + c] = s;
        psq[(i64)blockIdx.y * C + c] = q;
    }
}

// bn_stats_finalize: one thread per channel combines the R partials (in
// double) into the batch mean, the biased variance and 1/√(var+ε).
extern "C" __global__ void bn_stats_finalize(const float* __restrict__ x, const float* __restrict__ psum,
                                             const float* __restrict__ psq, int R, int C, int S, float count,
                                             float eps, float* __restrict__ mean, float* __restrict__ var,
                                             float* __restrict__ invstd) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double s = 0.0, q = 0.0;
    for (int r = 0; r < R; r++) {
        s += psum[(i64)r * C + c];
        q += psq[(i64)r * C + c];
    }
    const double cnt = count;
    const double m1 = s / cnt; // mean of x − shift
    double v = q / cnt - m1 * m1;
    if (v < 0.0) v = 0.0;
    mean[c] = (float)((double)x[(i64)c * S] + m1);
    var[c] = (float)v;
    invstd[c] = (float)(1.0 / sqrt(v + (double)eps));
}

// bn_eval_invstd: invstd = 1/√(runVar+ε) per channel (eval forward).
extern "C" __global__ void bn_eval_invstd(const float* __restrict__ runVar, int C, float eps, float* __restrict__ invstd) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < C) invstd[c] = (float)(1.0 / sqrt((double)runVar[c] + (double)eps));
}

// bn_running_update: r ← (1−momentum)·r + momentum·batch, with the batch
// variance made unbiased (unbias = count/(count−1)), PyTorch's convention.
extern "C" __global__ void bn_running_update(float* __restrict__ runMean, float* __restrict__ runVar,
                                             const float* __restrict__ mean, const float* __restrict__ var, int C,
                                             float momentum, float unbias) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    runMean[c] = (1.0f - momentum) * runMean[c] + momentum * mean[c];
    runVar[c] = (1.0f - momentum) * runVar[c] + momentum * var[c] * unbias;
}

// bn_apply_2d: y = (x − mean)·(γ·invstd) + β, same grid as the partials but
// walking the row chunks in reverse (see the file comment).
template <int V>
__device__ void bnApply2d(const float* __restrict__ x, const float* __restrict__ gamma,
                          const float* __restrict__ beta, const float* __restrict__ mean,
                          const float* __restrict__ invstd, int N, int C, int rowsPer, float* __restrict__ y) {
    const int c0 = (blockIdx.x * 32 + threadIdx.x) * V;
    if (c0 >= C) return;
    const int chunk = gridDim.y - 1 - blockIdx.y;
    const int r0 = chunk * rowsPer, r1 = min(N, r0 + rowsPer);
    float m[V], sc[V], b[V];
#pragma unroll
    for (int i = 0; i < V; i++) {
        m[i] = mean[c0 + i];
        sc[i] = gamma[c0 + i] * invstd[c0 + i];
        b[i] = beta[c0 + i];
    }
#pragma unroll 4
    for (int r = r0 + threadIdx.y; r < r1; r += 8) {
        const i64 off = (i64)r * C + c0;
        Vec<V> v = loadStreamV<V>(x + off);
#pragma unroll
        for (int i = 0; i < V; i++) v.v[i] = (v.v[i] - m[i]) * sc[i] + b[i];
        storeStreamV<V>(y + off, v);
    }
}

extern "C" __global__ void __launch_bounds__(256)
bn_apply_2d(const float* x, const float* gamma, const float* beta, const float* mean, const float* invstd,
            int N, int C, int rowsPer, float* y, int vec) {
    if (vec) bnApply2d<4>(x, gamma, beta, mean, invstd, N, C, rowsPer, y);
    else bnApply2d<1>(x, gamma, beta, mean, invstd, N, C, rowsPer, y);
}

// bn_apply_4d: y = (x − mean)·(γ·invstd) + β over all N·C·S elements,
// grid-stride; vec (S % 4 == 0, aligned) moves float4s, which then lie in
// one channel.
extern "C" __global__ void bn_apply_4d(const float* __restrict__ x, const float* __restrict__ gamma,
                                       const float* __restrict__ beta, const float* __restrict__ mean,
                                       const float* __restrict__ invstd, int N, int C, int S,
                                       float* __restrict__ y, int vec) {
    const i64 total = (i64)N * C * S;
    const i64 stride = (i64)gridDim.x * blockDim.x;
    if (vec) {
        const int S4 = S >> 2;
        for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total / 4; i += stride) {
            const int c = ((int)i / S4) % C; // i < 2^31: the Go side bounds every size
            const float sc = gamma[c] * invstd[c], m = mean[c], b = beta[c];
            float4 v = ((const float4*)x)[i];
            v.x = (v.x - m) * sc + b; v.y = (v.y - m) * sc + b;
            v.z = (v.z - m) * sc + b; v.w = (v.w - m) * sc + b;
            __stcs((float4*)y + i, v);
        }
        return;
    }
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int c = ((int)i / S) % C;
        __stcs(y + i, (x[i] - mean[c]) * (gamma[c] * invstd[c]) + beta[c]);
    }
}

// ---------------------------------------------------------------------------
// BatchNorm backward.

// bn_bwd_partial_2d: per channel and row chunk, Σdy and Σdy·x̂ with
// x̂ = (x − mean)·invstd, into pdy, pdyx (R×C). dxEval, when not NULL
// (eval mode), receives dx = dy·γ·invstd.
template <int V>
__device__ void bnBwdPartial2d(const float* __restrict__ x, const float* __restrict__ dy,
                               const float* __restrict__ gamma, const float* __restrict__ mean,
                               const float* __restrict__ invstd, int N, int C, int rowsPer,
                               float* __restrict__ pdy, float* __restrict__ pdyx, float* __restrict__ dxEval) {
    const int c0 = (blockIdx.x * 32 + threadIdx.x) * V;
    const int r0 = blockIdx.y * rowsPer, r1 = min(N, r0 + rowsPer);
    float a[V], q[V];
#pragma unroll
    for (int i = 0; i < V; i++) a[i] = q[i] = 0.0f;
    if (c0 < C) {
        float m[V], is[V], k[V];
#pragma unroll
        for (int i = 0; i < V; i++) {
            m[i] = mean[c0 + i];
            is[i] = invstd[c0 + i];
            k[i] = gamma[c0 + i] * is[i];
        }
#pragma unroll 4
        for (int r = r0 + threadIdx.y; r < r1; r += 8) {
            const i64 off = (i64)r * C + c0;
            Vec<V> xv = loadV<V>(x + off), g = loadV<V>(dy + off);
#pragma unroll
            for (int i = 0; i < V; i++) {
                a[i] += g.v[i];
                q[i] += g.v[i] * ((xv.v[i] - m[i]) * is[i]);
            }
            if (dxEval != NULL) {
                Vec<V> d;
#pragma unroll
                for (int i = 0; i < V; i++) d.v[i] = g.v[i] * k[i];
                storeStreamV<V>(dxEval + off, d);
            }
        }
    }
    bnReduce8<V>(a, q);
    if (threadIdx.y == 0 && c0 < C) {
#pragma unroll
        for (int i = 0; i < V; i++) {
            pdy[(i64)blockIdx.y * C + c0 + i] = a[i];
            pdyx[(i64)blockIdx.y * C + c0 + i] = q[i];
        }
    }
}

extern "C" __global__ void __launch_bounds__(256)
bn_bwd_partial_2d(const float* x, const float* dy, const float* gamma, const float* mean, const float* invstd,
                  int N, int C, int rowsPer, float* pdy, float* pdyx, float* dxEval, int vec) {
    if (vec) bnBwdPartial2d<4>(x, dy, gamma, mean, invstd, N, C, rowsPer, pdy, pdyx, dxEval);
    else bnBwdPartial2d<1>(x, dy, gamma, mean, invstd, N, C, rowsPer, pdy, pdyx, dxEval);
}

// bn_bwd_partial_4d: the same for S > 1, grid (C, R), block 256.
extern "C" __global__ void __launch_bounds__(256)
bn_bwd_partial_4d(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
                  const float* __restrict__ mean, const float* __restrict__ invstd, int N, int C, int S, int nPer,
                  float* __restrict__ pdy, float* __restrict__ pdyx, float* __restrict__ dxEval) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const int n0 = blockIdx.y * nPer, n1 = min(N, n0 + nPer);
    const float m = mean[c], is = invstd[c], k = gamma[c] * is;
    const int total = (n1 - n0) * S;
    float a = 0.0f, q = 0.0f;
    for (int t = threadIdx.x; t < total; t += blockDim.x) {
        const int n = n0 + t / S, p = t - (t / S) * S;
        const i64 off = ((i64)n * C + c) * S + p;
        const float g = dy[off];
        a += g;
        q += g * ((x[off] - m) * is);
        if (dxEval != NULL) dxEval[off] = g * k;
    }
    a = blockSum(a, scratch);
    q = blockSum(q, scratch);
    if (threadIdx.x == 0) {
        pdy[(i64)blockIdx.y * C + c] = a;
        pdyx[(i64)blockIdx.y * C + c] = q;
    }
}

// bn_bwd_finalize: dβ = Σdy, dγ = Σdy·x̂ per channel (R partials, double).
extern "C" __global__ void bn_bwd_finalize(const float* __restrict__ pdy, const float* __restrict__ pdyx, int R,
                                           int C, float* __restrict__ dgamma, float* __restrict__ dbeta) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double a = 0.0, q = 0.0;
    for (int r = 0; r < R; r++) {
        a += pdy[(i64)r * C + c];
        q += pdyx[(i64)r * C + c];
    }
    dbeta[c] = (float)a;
    dgamma[c] = (float)q;
}

// bn_bwd_dx_2d (train mode): dx = γ·invstd·(dy − Σdy/m − x̂·Σdy·x̂/m),
// m = N·S, reading Σdy, Σdy·x̂ back from dβ, dγ; reverse chunk order.
template <int V>
__device__ void bnBwdDx2d(const float* __restrict__ x, const float* __restrict__ dy,
                          const float* __restrict__ gamma, const float* __restrict__ mean,
                          const float* __restrict__ invstd, const float* __restrict__ dgamma,
                          const float* __restrict__ dbeta, int N, int C, int rowsPer, float count,
                          float* __restrict__ dx) {
    const int c0 = (blockIdx.x * 32 + threadIdx.x) * V;
    if (c0 >= C) return;
    const int chunk = gridDim.y - 1 - blockIdx.y;
    const int r0 = chunk * rowsPer, r1 = min(N, r0 + rowsPer);
    float m[V], is[V], k[V], a[V], q[V];
#pragma unroll
    for (int i = 0; i < V; i++) {
        m[i] = mean[c0 + i];
        is[i] = invstd[c0 + i];
        k[i] = gamma[c0 + i] * is[i];
        a[i] = dbeta[c0 + i] / count;
        q[i] = dgamma[c0 + i] / count;
    }
#pragma unroll 4
    for (int r = r0 + threadIdx.y; r < r1; r += 8) {
        const i64 off = (i64)r * C + c0;
        Vec<V> xv = loadStreamV<V>(x + off), g = loadStreamV<V>(dy + off), d;
#pragma unroll
        for (int i = 0; i < V; i++) {
            const float xh = (xv.v[i] - m[i]) * is[i];
            d.v[i] = k[i] * (g.v[i] - a[i] - xh * q[i]);
        }
        storeStreamV<V>(dx + off, d);
    }
}

extern "C" __global__ void __launch_bounds__(256)
bn_bwd_dx_2d(const float* x, const float* dy, const float* gamma, const float* mean, const float* invstd,
             const float* dgamma, const float* dbeta, int N, int C, int rowsPer, float count, float* dx, int vec) {
    if (vec) bnBwdDx2d<4>(x, dy, gamma, mean, invstd, dgamma, dbeta, N, C, rowsPer, count, dx);
    else bnBwdDx2d<1>(x, dy, gamma, mean, invstd, dgamma, dbeta, N, C, rowsPer, count, dx);
}

// bn_bwd_dx_4d: the same for S > 1, grid-stride over all elements.
extern "C" __global__ void bn_bwd_dx_4d(const float* __restrict__ x, const float* __restrict__ dy,
                                        const float* __restrict__ gamma, const float* __restrict__ mean,
                                        const float* __restrict__ invstd, const float* __restrict__ dgamma,
                                        const float* __restrict__ dbeta, int N, int C, int S, float count,
                                        float* __restrict__ dx) {
    const i64 total = (i64)N * C * S;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
        const int c = ((int)i / S) % C;
        const float is = invstd[c];
        const float xh = (x[i] - mean[c]) * is;
        dx[i] = gamma[c] * is * (dy[i] - dbeta[c] / count - xh * (dgamma[c] / count));
    }
}

// ---------------------------------------------------------------------------
// LayerNorm. In the *_vec kernels a group of G threads (G = 32 or 256)
// handles a row; blocks are 256 threads, so 256/G rows at a time. Thread
// `lane` of a group holds the row's float4s lane, lane+G, …, lane+(K−1)·G.

template <int G>
__device__ __forceinline__ float groupSum(float v, float* scratch) {
    if (G == 32) return warpSum(v);
    return blockSum(v, scratch);
}

__device__ __forceinline__ float sum4(float4 v) { return (v.x + v.y) + (v.z + v.w); }

template <int G, int K>
__device__ void lnForwardVec(const float4* __restrict__ x, const float4* __restrict__ gamma,
                             const float4* __restrict__ beta, int N, int D4, float eps, float4* __restrict__ y,
                             float* __restrict__ mean, float* __restrict__ invstd) {
    __shared__ float scratch[32];
    const int lane = threadIdx.x % G;
    const int row = blockIdx.x * (256 / G) + threadIdx.x / G;
    // G == 256: one row per block and row < N for every thread; G == 32: a
    // whole warp leaves together, and warps never wait on each other.
    if (row >= N) return;
    const float4* xr = x + (i64)row * D4;
    float4 v[K];
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < K; k++) {
        const int j = lane + k * G;
        v[k] = j < D4 ? xr[j] : f4(0.0f);
        s += sum4(v[k]);
    }
    const float D = (float)(4 * D4);
    const float m = groupSum<G>(s, scratch) / D;
    float q = 0.0f;
#pragma unroll
    for (int k = 0; k < K; k++) {
        if (lane + k * G < D4) {
            const float a = v[k].x - m, b = v[k].y - m, c = v[k].z - m, d = v[k].w - m;
            q += (a * a + b * b) + (c * c + d * d);
        }
    }
    const float var = groupSum<G>(q, scratch) / D;
    const float is = 1.0f / sqrtf(var + eps);
    float4* yr = y + (i64)row * D4;
#pragma unroll
    for (int k = 0; k < K; k++) {
        const int j = lane + k * G;
        if (j < D4) {
            const float4 g = gamma[j], b = beta[j];
            float4 o;
            o.x = g.x * ((v[k].x - m) * is) + b.x;
            o.y = g.y * ((v[k].y - m) * is) + b.y;
            o.z = g.z * ((v[k].z - m) * is) + b.z;
            o.w = g.w * ((v[k].w - m) * is) + b.w;
            yr[j] = o;
        }
    }
    if (lane == 0) {
        mean[row] = m;
        invstd[row] = is;
    }
}

#define LN_FORWARD(G, K)                                                                                    \
    extern "C" __global__ void __launch_bounds__(256) ln_forward_##G##_##K(                                 \
        const float4* x, const float4* gamma, const float4* beta, int N, int D4, float eps, float4* y,       \
        float* mean, float* invstd) {                                                                        \
        lnForwardVec<G, K>(x, gamma, beta, N, D4, eps, y, mean, invstd);                                     \
    }
LN_FORWARD(32, 1)
LN_FORWARD(32, 2)
LN_FORWARD(32, 4)
LN_FORWARD(32, 8)
LN_FORWARD(256, 2)
LN_FORWARD(256, 4)

// ln_forward_generic: any D and alignment; block (256) per row, three
// passes over the row (sum, squared deviations, output).
extern "C" __global__ void __launch_bounds__(256)
ln_forward_generic(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                   int N, int D, float eps, float* __restrict__ y, float* __restrict__ mean,
                   float* __restrict__ invstd) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    const float* xr = x + (i64)row * D;
    float s = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) s += xr[j];
    const float m = blockSum(s, scratch) / (float)D;
    float q = 0.0f;
    for (int j = threadIdx.x; j < D; j += blockDim.x) {
        const float d = xr[j] - m;
        q += d * d;
    }
    const float is = 1.0f / sqrtf(blockSum(q, scratch) / (float)D + eps);
    float* yr = y + (i64)row * D;
    for (int j = threadIdx.x; j < D; j += blockDim.x) yr[j] = gamma[j] * ((xr[j] - m) * is) + beta[j];
    if (threadIdx.x == 0) {
        mean[row] = m;
        invstd[row] = is;
    }
}

// lnCombineGroups: with several groups (warps) per block (G == 32, so
// D4 ≤ 256), add the groups' column sums in group order in shared memory,
// then write the block's row of the partials.
template <int K>
__device__ void lnCombineGroups(const float4 (&ag)[K], const float4 (&ab)[K], int groups, int group, int lane,
                                int D4, float4* pg, float4* pb) {
    __shared__ float4 sg4[256], sb4[256];
    for (int w = 0; w < groups; w++) {
        if (group == w) {
#pragma unroll
            for (int k = 0; k < K; k++) {
                const int j = lane + k * 32;
                if (j < D4) {
                    if (w == 0) {
                        sg4[j] = ag[k];
                        sb4[j] = ab[k];
                    } else {
                        float4 t = sg4[j], u = sb4[j];
                        t.x += ag[k].x; t.y += ag[k].y; t.z += ag[k].z; t.w += ag[k].w;
                        u.x += ab[k].x; u.y += ab[k].y; u.z += ab[k].z; u.w += ab[k].w;
                        sg4[j] = t;
                        sb4[j] = u;
                    }
                }
            }
        }
        __syncthreads();
    }
    for (int j = threadIdx.x; j < D4; j += blockDim.x) {
        pg[j] = sg4[j];
        pb[j] = sb4[j];
    }
}

// LayerNorm backward, per row: with x̂ = (x − mean)·invstd and g = γ·dy,
// dx = invstd·(g − Σg/D − x̂·Σg·x̂/D); over rows, dβ = Σdy, dγ = Σdy·x̂.
// Grid P blocks, persistent over rows; pgamma, pbeta (P×D) receive each
// block's column sums for ln_bwd_finalize.
template <int G, int K>
__device__ void lnBackwardVec(const float4* __restrict__ x, const float4* __restrict__ dy,
                              const float4* __restrict__ gamma, const float* __restrict__ mean,
                              const float* __restrict__ invstd, int N, int D4, float4* __restrict__ dx,
                              float4* __restrict__ pgamma, float4* __restrict__ pbeta) {
    constexpr int ROWS = 256 / G;
    __shared__ float scratch[32];
    const int lane = threadIdx.x % G, group = threadIdx.x / G;
    const float D = (float)(4 * D4);
    float4 ag[K], ab[K];
#pragma unroll
    for (int k = 0; k < K; k++) ag[k] = ab[k] = f4(0.0f);

    // For G == 256 the row is the same in every thread, so the loop and the
    // barriers inside groupSum are uniform over the block.
    for (int row = blockIdx.x * ROWS + group; row < N; row += gridDim.x * ROWS) {
        const float4 *xr = x + (i64)row * D4, *gr = dy + (i64)row * D4;
        float4 xv[K], gv[K];
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int j = lane + k * G;
            xv[k] = j < D4 ? xr[j] : f4(0.0f);
            gv[k] = j < D4 ? gr[j] : f4(0.0f);
        }
        const float m = mean[row], is = invstd[row];
        float sg = 0.0f, sgx = 0.0f;
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int j = lane + k * G;
            if (j < D4) {
                const float4 gm = gamma[j];
                float4 xh;
                xh.x = (xv[k].x - m) * is; xh.y = (xv[k].y - m) * is;
                xh.z = (xv[k].z - m) * is; xh.w = (xv[k].w - m) * is;
                ab[k].x += gv[k].x; ab[k].y += gv[k].y; ab[k].z += gv[k].z; ab[k].w += gv[k].w;
                ag[k].x += gv[k].x * xh.x; ag[k].y += gv[k].y * xh.y;
                ag[k].z += gv[k].z * xh.z; ag[k].w += gv[k].w * xh.w;
                const float4 gg = make_float4(gv[k].x * gm.x, gv[k].y * gm.y, gv[k].z * gm.z, gv[k].w * gm.w);
                sg += sum4(gg);
                sgx += (gg.x * xh.x + gg.y * xh.y) + (gg.z * xh.z + gg.w * xh.w);
                xv[k] = xh; // keep x̂ and γ·dy for the second pass
                gv[k] = gg;
            }
        }
        const float a = groupSum<G>(sg, scratch) / D;
        const float q = groupSum<G>(sgx, scratch) / D;
        float4* dr = dx + (i64)row * D4;
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int j = lane + k * G;
            if (j < D4) {
                float4 o;
                o.x = is * (gv[k].x - a - xv[k].x * q);
                o.y = is * (gv[k].y - a - xv[k].y * q);
                o.z = is * (gv[k].z - a - xv[k].z * q);
                o.w = is * (gv[k].w - a - xv[k].w * q);
                dr[j] = o;
            }
        }
    }

    float4* pg = pgamma + (i64)blockIdx.x * D4;
    float4* pb = pbeta + (i64)blockIdx.x * D4;
    if (ROWS == 1) {
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int j = lane + k * G;
            if (j < D4) {
                pg[j] = ag[k];
                pb[j] = ab[k];
            }
        }
    } else {
        lnCombineGroups<K>(ag, ab, ROWS, group, lane, D4, pg, pb);
    }
}

#define LN_BACKWARD(G, K)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256) ln_backward_##G##_##K(                                \
        const float4* x, const float4* dy, const float4* gamma, const float* mean, const float* invstd,     \
        int N, int D4, float4* dx, float4* pgamma, float4* pbeta) {                                          \
        lnBackwardVec<G, K>(x, dy, gamma, mean, invstd, N, D4, dx, pgamma, pbeta);                           \
    }
LN_BACKWARD(32, 1)
LN_BACKWARD(32, 2)
LN_BACKWARD(32, 4)
LN_BACKWARD(32, 8)
LN_BACKWARD(256, 2)
LN_BACKWARD(256, 4)

// ln_backward_generic: any D; grid P blocks of 256, persistent over rows,
// block per row. Thread t owns columns t, t+256, …; their partial dγ, dβ
// live in the block's rows of pgamma, pbeta (P×D), touched by no other
// thread, so no atomics are needed.
extern "C" __global__ void __launch_bounds__(256)
ln_backward_generic(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
                    const float* __restrict__ mean, const float* __restrict__ invstd, int N, int D,
                    float* __restrict__ dx, float* __restrict__ pgamma, float* __restrict__ pbeta) {
    __shared__ float scratch[32];
    float* pg = pgamma + (i64)blockIdx.x * D;
    float* pb = pbeta + (i64)blockIdx.x * D;
    for (int j = threadIdx.x; j < D; j += blockDim.x) pg[j] = pb[j] = 0.0f;
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float *xr = x + (i64)row * D, *gr = dy + (i64)row * D;
        const float m = mean[row], is = invstd[row];
        float sg = 0.0f, sgx = 0.0f;
        for (int j = threadIdx.x; j < D; j += blockDim.x) {
            const float g = gr[j], xh = (xr[j] - m) * is, gg = g * gamma[j];
            pb[j] += g;
            pg[j] += g * xh;
            sg += gg;
            sgx += gg * xh;
        }
        const float a = blockSum(sg, scratch) / (float)D;
        const float q = blockSum(sgx, scratch) / (float)D;
        float* dr = dx + (i64)row * D;
        for (int j = threadIdx.x; j < D; j += blockDim.x) {
            const float xh = (xr[j] - m) * is;
            dr[j] = is * (gr[j] * gamma[j] - a - xh * q);
        }
    }
}

// ln_bwd_finalize: dγ[j] = Σ_p pgamma[p, j], dβ[j] = Σ_p pbeta[p, j] (P
// block rows, added in order in double).
extern "C" __global__ void ln_bwd_finalize(const float* __restrict__ pgamma, const float* __restrict__ pbeta,
                                           int P, int D, float* __restrict__ dgamma, float* __restrict__ dbeta) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= D) return;
    double g = 0.0, b = 0.0;
    for (int p = 0; p < P; p++) {
        g += pgamma[(i64)p * D + j];
        b += pbeta[(i64)p * D + j];
    }
    dgamma[j] = (float)g;
    dbeta[j] = (float)b;
}
