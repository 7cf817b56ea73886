// elementwise.cu: normtap's element-wise and broadcast kernels on row-major
// float32 — bias add, column sums (the bias gradient), activations forward
// and backward (identity, ReLU, exact-erf GELU, sigmoid, tanh), copy and add.
//
// Reference: kernels/kernels.go (BiasAdd, ColSum, ActForward, ActBackward);
// the checks in cuda/kernels_gpu_test.go compare every kernel with it.
//
// Build: `make ptx` runs `nvcc -ptx -arch=compute_70 -O3` on this file into
// elementwise.ptx, which cuda/ embeds and the driver JIT-compiles at load.
//
// Every kernel that takes `vec` has two paths: vec != 0 means all pointers
// are 16-byte aligned and the kernel moves float4s (the n%4 tail scalar);
// the Go side decides. Loops are grid-stride, so any grid size is correct.
#include "common.cuh"

// Activation codes: the values of kernels.Act.
#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_GELU 2
#define ACT_SIGMOID 3
#define ACT_TANH 4

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

// GELU as x·Φ(x) with Φ(x) = erfc(−x/√2)/2: erfc keeps Φ accurate in the
// left tail, where 1+erf(x/√2) in float would cancel.
template <int A>
__device__ __forceinline__ float actF(float x) {
    if (A == ACT_RELU) return x > 0.0f ? x : 0.0f;
    if (A == ACT_GELU) return 0.5f * x * erfcf(-x * INV_SQRT2);
    if (A == ACT_SIGMOID) {
        if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
        float e = expf(x);
        return e / (1.0f + e);
    }
    if (A == ACT_TANH) return tanhf(x);
    return x;
}

// dx = dy·act'(x), given x, y = act(x) and dy (as kernels.ActBackward).
template <int A>
__device__ __forceinline__ float actB(float x, float y, float dy) {
    if (A == ACT_RELU) return y > 0.0f ? dy : 0.0f;
    if (A == ACT_GELU) {
        float cdf = 0.5f * erfcf(-x * INV_SQRT2);
        float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
        return dy * (cdf + x * pdf);
    }
    if (A == ACT_SIGMOID) return dy * y * (1.0f - y);
    if (A == ACT_TANH) return dy * (1.0f - y * y);
    return dy;
}

__device__ __forceinline__ i64 gtid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 gstride() { return (i64)gridDim.x * blockDim.x; }

template <int A>
__device__ void actForward(const float* x, float* y, int n, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        const float4* x4 = (const float4*)x;
        float4* y4 = (float4*)y;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 v = x4[i];
            y4[i] = make_float4(actF<A>(v.x), actF<A>(v.y), actF<A>(v.z), actF<A>(v.w));
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) y[i] = actF<A>(x[i]);
}

template <int A>
__device__ void actBackward(const float* x, const float* y, const float* dy, float* dx, int n, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        const float4 *x4 = (const float4*)x, *y4 = (const float4*)y, *g4 = (const float4*)dy;
        float4* d4 = (float4*)dx;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 a = x4[i], b = y4[i], g = g4[i];
            d4[i] = make_float4(actB<A>(a.x, b.x, g.x), actB<A>(a.y, b.y, g.y),
                                actB<A>(a.z, b.z, g.z), actB<A>(a.w, b.w, g.w));
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) dx[i] = actB<A>(x[i], y[i], dy[i]);
}

// act_forward writes y = act(x) for n elements. y may be x.
extern "C" __global__ void act_forward(const float* x, float* y, int n, int act, int vec) {
    switch (act) {
    case ACT_RELU: actForward<ACT_RELU>(x, y, n, vec); break;
    case ACT_GELU: actForward<ACT_GELU>(x, y, n, vec); break;
    case ACT_SIGMOID: actForward<ACT_SIGMOID>(x, y, n, vec); break;
    case ACT_TANH: actForward<ACT_TANH>(x, y, n, vec); break;
    default: actForward<ACT_IDENTITY>(x, y, n, vec); break;
    }
}

// act_backward writes dx = dy·act'(x) for n elements; dx may be dy. x is read only by
// GELU, y by ReLU, sigmoid and tanh; the others may be any valid pointer.
extern "C" __global__ void act_backward(const float* x, const float* y, const float* dy, float* dx,
                                        int n, int act, int vec) {
    switch (act) {
    case ACT_RELU: actBackward<ACT_RELU>(x, y, dy, dx, n, vec); break;
    case ACT_GELU: actBackward<ACT_GELU>(x, y, dy, dx, n, vec); break;
    case ACT_SIGMOID: actBackward<ACT_SIGMOID>(x, y, dy, dx, n, vec); break;
    case ACT_TANH: actBackward<ACT_TANH>(x, y, dy, dx, n, vec); break;
    default: actBackward<ACT_IDENTITY>(x, y, dy, dx, n, vec); break;
    }
}

// copy_f32 copies n floats (the identity activation; the GB/s of a plain
// kernel copy for comparison with the driver's memcpy).
extern "C" __global__ void copy_f32(float* __restrict__ dst, const float* __restrict__ src, int n, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        for (i64 i = gtid(); i < n4; i += gstride()) ((float4*)dst)[i] = ((const float4*)src)[i];
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) dst[i] = src[i];
}

// gather_cols copies columns cols[0..ncols) (indices held as floats) of the
// first rows rows of src (rows of width floats) into dst, rows×ncols: a tap
// copies back only the neurons it keeps.
extern "C" __global__ void gather_cols(float* __restrict__ dst, const float* __restrict__ src,
                                       const float* __restrict__ cols, int rows, int width, int ncols) {
    const i64 n = (i64)rows * ncols;
    for (i64 i = gtid(); i < n; i += gstride()) {
        const i64 r = i / ncols;
        const int c = (int)cols[i - r * ncols];
        dst[i] = src[r * width + c];
    }
}

// add_f32 writes dst = a + b for n elements (gradients of a value that
// feeds several ops). dst may be a or b.
extern "C" __global__ void add_f32(float* dst, const float* a, const float* b, int n, int vec) {
    i64 start = 0;
    if (vec) {
        const i64 n4 = n >> 2;
        for (i64 i = gtid(); i < n4; i += gstride()) {
            float4 u = ((const float4*)a)[i], v = ((const float4*)b)[i];
            ((float4*)dst)[i] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
        }
        start = n4 << 2;
    }
    for (i64 i = start + gtid(); i < n; i += gstride()) dst[i] = a[i] + b[i];
}

// bias_add adds b (cols) to every row of y (rows×cols). Grid: x over
// columns (one thread per column, or per 4 columns when vec), y over rows;
// each thread loads its bias once.
extern "C" __global__ void bias_add(float* __restrict__ y, const float* __restrict__ b, int rows, int cols, int vec) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (vec) {
        const int cols4 = cols >> 2;
        if (c >= cols4) return;
        const float4 bv = ((const float4*)b)[c];
        for (int r = blockIdx.y; r < rows; r += gridDim.y) {
            float4* p = (float4*)(y + (i64)r * cols) + c;
            float4 v = *p;
            *p = make_float4(v.x + bv.x, v.y + bv.y, v.z + bv.z, v.w + bv.w);
        }
        return;
    }
    if (c >= cols) return;
    const float bv = b[c];
    for (int r = blockIdx.y; r < rows; r += gridDim.y) y[(i64)r * cols + c] += bv;
}

// col_sum writes dst[j] = Σ_i x[i,j] for x (rows×cols). Block (32, 8):
// 32 columns per block, 8 row lanes that each sum every 8th row; the 8 lane
// sums are then added in lane order.
extern "C" __global__ void col_sum(float* __restrict__ dst, const float* __restrict__ x, int rows, int cols) {
    __shared__ float part[8][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int c = blockIdx.x * 32 + tx;
    float s = 0.0f;
    if (c < cols) {
#pragma unroll 4
        for (int r = ty; r < rows; r += 8) s += x[(i64)r * cols + c];
    }
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0 && c < cols) {
        float t = 0.0f;
#pragma unroll
        for (int k = 0; k < 8; k++) t += part[k][tx];
        dst[c] = t;
    }
}
