// loss.cu: softmax cross-entropy on logits (n×k, row-major) with labels
// given as float32 class indices — forward (probabilities and the mean
// loss), backward (dlogits), and the per-batch sums that metrics need
// (Σ loss and the count of rows whose argmax is the label).
//
// Reference: kernels/kernels.go (SoftmaxCrossEntropyForward/Backward); the
// checks in cuda/kernels_gpu_test.go compare with it.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file.
//
// Forward is two kernels: xent_rows (one warp per row: max, Σexp, probs,
// the row's loss and whether its argmax is the label, into scratch) and
// xent_reduce (one block adds the rows in a fixed order, in double), so the
// loss never needs a host round trip and is the same bits on every run.
#include "common.cuh"

// xent_rows: one warp per row, rows strided over the grid's warps. probs
// may be NULL (metrics only). A label that is not an integer in [0, k)
// gives the row a NaN loss, so a bad label cannot pass unnoticed.
extern "C" __global__ void xent_rows(const float* __restrict__ logits, const float* __restrict__ labels,
                                     int n, int k, float* __restrict__ probs,
                                     float* __restrict__ rowLoss, float* __restrict__ rowCorrect) {
    const int lane = threadIdx.x & 31;
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int warps = (gridDim.x * blockDim.x) >> 5;
    for (int row = warp; row < n; row += warps) {
        const float* lr = logits + (i64)row * k;
        // Max and first argmax: each lane scans its columns in increasing
        // order (strict > keeps the first), then the warp keeps the larger
        // value, the smaller index on ties.
        float mx = -INFINITY;
        int arg = k;
        for (int j = lane; j < k; j += 32) {
            float v = lr[j];
            if (v > mx) { mx = v; arg = j; }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float om = __shfl_xor_sync(FULL_MASK, mx, o);
            int oa = __shfl_xor_sync(FULL_MASK, arg, o);
            if (om > mx || (om == mx && oa < arg)) { mx = om; arg = oa; }
        }
        float z = 0.0f;
        for (int j = lane; j < k; j += 32) z += expf(lr[j] - mx);
        z = warpSum(z);
        if (probs != NULL) {
            const float inv = 1.0f / z;
            float* pr = probs + (i64)row * k;
            for (int j = lane; j < k; j += 32) pr[j] = expf(lr[j] - mx) * inv;
        }
        if (lane == 0) {
            const float lf = labels[row];
            const int lab = (int)lf;
            float loss = quietNaN(), ok = 0.0f;
            if (lab >= 0 && lab < k && (float)lab == lf) {
                loss = logf(z) - (lr[lab] - mx);
                ok = arg == lab ? 1.0f : 0.0f;
            }
            rowLoss[row] = loss;
            rowCorrect[row] = ok;
        }
    }
}

// xent_reduce: one block. meanLoss (may be NULL) receives Σ rowLoss / n;
// sums (may be NULL) accumulates sums[0] += Σ rowLoss, sums[1] += Σ
// rowCorrect, so one buffer can gather a whole epoch and be read once.
// Launched with 1024 threads: __launch_bounds__ keeps the compiler to
// registers that let a block that size run.
extern "C" __global__ void __launch_bounds__(1024) xent_reduce(const float* __restrict__ rowLoss, const float* __restrict__ rowCorrect,
                                       int n, float* meanLoss, float* sums) {
    __shared__ double scratch[32];
    double l = 0.0, c = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        l += rowLoss[i];
        c += rowCorrect[i];
    }
    l = blockSumD(l, scratch);
    c = blockSumD(c, scratch);
    if (threadIdx.x == 0) {
        if (meanLoss != NULL) meanLoss[0] = (float)(l / (double)n);
        if (sums != NULL) {
            sums[0] += (float)l;
            sums[1] += (float)c;
        }
    }
}

// xent_backward writes dlogits = scale·(p − onehot(label)), scale = g/n.
extern "C" __global__ void xent_backward(const float* __restrict__ probs, const float* __restrict__ labels,
                                         int n, int k, float scale, float* __restrict__ dlogits) {
    const i64 total = (i64)n * k;
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
        const int row = (int)i / k, j = (int)i - row * k; // i < 2^31: the Go side bounds every size
        float d = probs[i] * scale;
        if (j == (int)labels[row]) d -= scale;
        dlogits[i] = d;
    }
}
