// common.cuh: helpers shared by normtap's kernels — warp and block
// reductions in a fixed order (so every kernel is deterministic: the same
// inputs give the same bits, run after run), and a NaN constant.
//
// Included by every kernels/*.cu; `make ptx` rebuilds all of them when it
// changes. Plain CUDA C++ (no inline PTX), so the kernels also compile as
// host C++ under the CPU emulator in cuda/internal/emu.
#pragma once

#define FULL_MASK 0xffffffffu

// Row-major element offsets can pass 2^31 for large matrices even when each
// dimension fits an int, so offsets are computed in 64 bits.
typedef long long i64;

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ double warpSumD(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// blockSum returns the sum of v over all threads of the block, in every
// thread. The block's thread count is a multiple of 32 (at most 1024), every
// thread calls it, and scratch holds 32 floats of shared memory. It begins
// with a barrier, so calls may follow one another with the same scratch.
__device__ __forceinline__ float blockSum(float v, float* scratch) {
    const int tid = threadIdx.x + threadIdx.y * blockDim.x;
    const int lane = tid & 31, warp = tid >> 5;
    const int warps = (blockDim.x * blockDim.y) >> 5;
    v = warpSum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return warpSum(v);
}

// blockSumD is blockSum in double precision (scratch: 32 doubles).
__device__ __forceinline__ double blockSumD(double v, double* scratch) {
    const int tid = threadIdx.x + threadIdx.y * blockDim.x;
    const int lane = tid & 31, warp = tid >> 5;
    const int warps = (blockDim.x * blockDim.y) >> 5;
    v = warpSumD(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0;
    return warpSumD(v);
}

__device__ __forceinline__ float quietNaN() { return __int_as_float(0x7fc00000); }

// Component-wise float4 arithmetic used by the vectorised paths.
__device__ __forceinline__ float4 f4(float v) { return make_float4(v, v, v, v); }
