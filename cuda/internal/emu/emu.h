//go:build cudaemu

// emu.h: the CUDA C++ subset that normtap's kernels use, on the CPU, so
// that cuda/kernels/*.cu compile as host C++ and run under the emulator in
// emu.cc. A block's threads are fibers (ucontext) on one OS thread, run
// until they reach a barrier (__syncthreads, or a warp shuffle, which
// synchronises its warp); blocks run one after another, so __shared__
// arrays can be function-local statics. Float maths is the host's libm,
// not CUDA's, so results match the GPU's to rounding, not to the bit.
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct uint3 {
    unsigned x, y, z;
};
struct float4 {
    float x, y, z, w;
};
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict

namespace emu {
struct Fiber;
extern Fiber* current;
extern uint3 blockIdx_, blockDim_, gridDim_;
const uint3& threadIndex();
void syncthreads();
void warpExchange(uint64_t v, int srcLaneXor, int srcLane, uint64_t* out);
} // namespace emu

#define threadIdx (emu::threadIndex())
#define blockIdx (emu::blockIdx_)
#define blockDim (emu::blockDim_)
#define gridDim (emu::gridDim_)

static inline void __syncthreads() { emu::syncthreads(); }

template <typename T>
static inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    uint64_t in = 0, out = 0;
    memcpy(&in, &v, sizeof(T));
    emu::warpExchange(in, laneMask, -1, &out);
    T r;
    memcpy(&r, &out, sizeof(T));
    return r;
}

template <typename T>
static inline T __shfl_sync(unsigned, T v, int srcLane) {
    uint64_t in = 0, out = 0;
    memcpy(&in, &v, sizeof(T));
    emu::warpExchange(in, 0, srcLane, &out);
    T r;
    memcpy(&r, &out, sizeof(T));
    return r;
}

static inline float __int_as_float(int v) {
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static inline void __stcs(float* p, float v) { *p = v; }
static inline float __ldcs(const float* p) { return *p; }
static inline float4 __ldcs(const float4* p) { return *p; }
static inline void __stcs(float4* p, float4 v) { *p = v; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
