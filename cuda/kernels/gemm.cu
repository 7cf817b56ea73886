// gemm.cu: SGEMM for row-major matrices, C = α·op(A)·op(B) + β·C with
// op(X) = X or Xᵀ; op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are
// row strides. Transposes are template flags on the loads, never
// materialised: Linear's forward is NN, its dW = xᵀ·dy is TN and its
// dx = dy·Wᵀ is NT. β = 0 means C is not read (it may hold NaNs).
//
// Reference: kernels/gemm.go (Gemm, through gonum's blas32); the checks in
// cuda/kernels_gpu_test.go compare with it.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file.
//
// How: a block computes a BM×BN tile of C, marching over k in steps of BK.
// Each step's A and B tiles go global → registers → shared memory (stored
// k-major: As[k][i], Bs[k][j]), double-buffered so the loads of step t+1
// are in flight while step t computes and one barrier per step suffices.
// Each thread accumulates a TM×TN micro-tile in registers, built from
// float4 reads of shared memory: its rows are TM/4 runs of 4 (BM·4/TM
// apart) and its columns likewise, which makes those reads conflict-free.
// Global loads map consecutive threads to consecutive addresses of
// whichever dimension is contiguous (k for A untransposed and B
// transposed, m or n otherwise), are bounds-checked (zero-filled), so any
// m, n, k and any leading dimension work; rows of the shared tiles are
// padded by 4 floats so the transposing stores do not conflict.
//
// Instances: gemm_{nn,nt,tn,tt}_{128,64,32} — tiles 128×128 (8×8 per
// thread, 256 threads), 64×64 (4×4, 256 threads) and 32×32 (4×4, 64
// threads). The Go side picks the largest tile that still gives every SM a
// block, since small batches make few large tiles; when even the small
// tiles leave SMs idle (a batch of 128 makes a 128×1024 product: 32 tiles
// of 64×64), it splits k: grid z takes k in chunks of kChunk, each block
// writes its raw partial product to `partial` (splits×m×n), and
// gemm_splitk_reduce adds the splits in order and applies α and β.
#include "common.cuh"

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__device__ void sgemm(int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
                      const float* __restrict__ B, int ldb, float beta, float* __restrict__ C, int ldc,
                      int kChunk, float* __restrict__ partial, const float* __restrict__ bias) {
    constexpr int NT = (BM / TM) * (BN / TN); // threads
    constexpr int PAD = 4;
    constexpr int EA = BM * BK / NT, EB = BK * BN / NT; // elements each thread loads per step
    constexpr int RA = TM / 4, RB = TN / 4;             // runs of 4 rows / columns per thread
    constexpr int SA = BM / RA, SB = BN / RB;           // distance between runs
    static_assert(EA * NT == BM * BK && EB * NT == BK * BN, "tile not divisible among threads");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "micro-tile in runs of 4");

    __shared__ __align__(16) float As[2][BK][BM + PAD];
    __shared__ __align__(16) float Bs[2][BK][BN + PAD];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int kBegin = blockIdx.z * kChunk, kEnd = min(K, kBegin + kChunk);

    float ra[EA], rb[EB];
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    // Tile coordinates of the e-th element a thread loads: consecutive
    // threads walk the dimension that is contiguous in memory.
#define A_COORD(e, i, kk)                                                                                 \
    const int idx_##e = tid + (e) * NT;                                                                   \
    const int i = TA ? idx_##e % BM : idx_##e / BK;                                                       \
    const int kk = TA ? idx_##e / BM : idx_##e % BK;
#define B_COORD(e, j, kk)                                                                                 \
    const int idx_##e = tid + (e) * NT;                                                                   \
    const int j = TB ? idx_##e / BK : idx_##e % BN;                                                       \
    const int kk = TB ? idx_##e % BK : idx_##e / BN;

    auto loadTiles = [&](int k0) {
#pragma unroll
        for (int e = 0; e < EA; e++) {
            A_COORD(e, i, kk)
            const int gi = bm + i, gk = k0 + kk;
            float v = 0.0f;
            if (gi < M && gk < kEnd) v = TA ? A[(i64)gk * lda + gi] : A[(i64)gi * lda + gk];
            ra[e] = v;
        }
#pragma unroll
        for (int e = 0; e < EB; e++) {
            B_COORD(e, j, kk)
            const int gj = bn + j, gk = k0 + kk;
            float v = 0.0f;
            if (gj < N && gk < kEnd) v = TB ? B[(i64)gj * ldb + gk] : B[(i64)gk * ldb + gj];
            rb[e] = v;
        }
    };
    auto storeTiles = [&](int buf) {
#pragma unroll
        for (int e = 0; e < EA; e++) {
            A_COORD(e, i, kk)
            As[buf][kk][i] = ra[e];
        }
#pragma unroll
        for (int e = 0; e < EB; e++) {
            B_COORD(e, j, kk)
            Bs[buf][kk][j] = rb[e];
        }
    };
#undef A_COORD
#undef B_COORD

    const int steps = (kEnd - kBegin + BK - 1) / BK; // kEnd ≤ kBegin: none, C = β·C
    loadTiles(kBegin);
    storeTiles(0);
    __syncthreads();
    for (int t = 0; t < steps; t++) {
        const int cur = t & 1;
        if (t + 1 < steps) loadTiles(kBegin + (t + 1) * BK);
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int r = 0; r < RA; r++) {
                const float4 v = *(const float4*)&As[cur][kk][r * SA + ty * 4];
                a[r * 4 + 0] = v.x; a[r * 4 + 1] = v.y; a[r * 4 + 2] = v.z; a[r * 4 + 3] = v.w;
            }
#pragma unroll
            for (int r = 0; r < RB; r++) {
                const float4 v = *(const float4*)&Bs[cur][kk][r * SB + tx * 4];
                b[r * 4 + 0] = v.x; b[r * 4 + 1] = v.y; b[r * 4 + 2] = v.z; b[r * 4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++) acc[i][j] += a[i] * b[j];
        }
        if (t + 1 < steps) storeTiles(cur ^ 1);
        __syncthreads();
    }

    // Split k: the raw sums go to this split's m×n slab of partial.
    float* out = partial != NULL ? partial + (i64)blockIdx.z * M * N : C;
    const int ldo = partial != NULL ? N : ldc;
#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int gi = bm + (i / 4) * SA + ty * 4 + (i % 4);
        if (gi >= M) continue;
        float* cr = out + (i64)gi * ldo;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            const int gj = bn + (j / 4) * SB + tx * 4 + (j % 4);
            if (gj >= N) continue;
            if (partial != NULL) {
                cr[gj] = acc[i][j];
            } else {
                float v = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cr[gj];
                if (bias != NULL) v += bias[gj];
                cr[gj] = v;
            }
        }
    }
}

// gemm_splitk_reduce: C = α·Σ_z partial[z] + β·C (+ bias[j] when bias is
// not NULL) over the m×n elements, the splits added in order. Grid-stride,
// any grid.
extern "C" __global__ void gemm_splitk_reduce(const float* __restrict__ partial, int splits, int M, int N,
                                              float alpha, float beta, float* __restrict__ C, int ldc,
                                              const float* __restrict__ bias) {
    const i64 mn = (i64)M * N;
    for (i64 e = (i64)blockIdx.x * blockDim.x + threadIdx.x; e < mn; e += (i64)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int z = 0; z < splits; z++) s += partial[z * mn + e];
        const int i = (int)e / N, j = (int)e - i * N; // e < 2^31: the Go side bounds every size
        float* c = C + (i64)i * ldc + j;
        float v = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        if (bias != NULL) v += bias[j];
        *c = v;
    }
}

// Grid (ceil(n/BN), ceil(m/BM)), block NT threads.
#define GEMM(NAME, BM, BK, TM, TA, TB)                                                                     \
    extern "C" __global__ void __launch_bounds__((BM / TM) * (BM / TM))                                     \
        NAME(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,             \
             float beta, float* c, int ldc, int kChunk, float* partial, const float* bias) {                 \
        sgemm<BM, BM, BK, TM, TM, TA, TB>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, kChunk, partial, bias); \
    }

GEMM(gemm_nn_128, 128, 8, 8, false, false)
GEMM(gemm_nt_128, 128, 8, 8, false, true)
GEMM(gemm_tn_128, 128, 8, 8, true, false)
GEMM(gemm_tt_128, 128, 8, 8, true, true)
GEMM(gemm_nn_64, 64, 8, 4, false, false)
GEMM(gemm_nt_64, 64, 8, 4, false, true)
GEMM(gemm_tn_64, 64, 8, 4, true, false)
GEMM(gemm_tt_64, 64, 8, 4, true, true)
GEMM(gemm_nn_32, 32, 8, 4, false, false)
GEMM(gemm_nt_32, 32, 8, 4, false, true)
GEMM(gemm_tn_32, 32, 8, 4, true, false)
GEMM(gemm_tt_32, 32, 8, 4, true, true)
