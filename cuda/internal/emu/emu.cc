//go:build cudaemu

// emu.cc: runs kernels on the CPU. A launch runs the grid's blocks one after
// another; a block's threads are fibers (ucontext) scheduled round-robin in
// a shuffled order on each pass, each until it finishes or waits at a
// barrier. __syncthreads waits for every live thread of the block; a warp
// shuffle waits for the live threads of its warp. A pass in which no fiber
// moves is a deadlock (a barrier in divergent code): the launch fails.
// Fibers start with makecontext/swapcontext and then switch with
// _setjmp/_longjmp, which skip the signal-mask system call of swapcontext
// (a fortified longjmp would refuse to change stacks).
#undef _FORTIFY_SOURCE
#include "emu.h"
#include "emu_api.h"
#include "registry.h"

#include <setjmp.h>
#include <stdlib.h>
#include <ucontext.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace emu {

struct Fiber {
    ucontext_t ctx;
    jmp_buf jb;
    bool started;
    uint3 tid;
    int linear;
    bool done;
    int waitKind;  // 0: runnable; 1: at the block barrier; 2: at its warp's barrier
    long waitGen;  // the barrier generation it waits to see pass
};

Fiber* current;
uint3 blockIdx_, blockDim_, gridDim_;

namespace {

const size_t kStack = 256 << 10;
ucontext_t scheduler;  // only for first entries
jmp_buf schedJb;
std::vector<Fiber> fibers;
std::vector<char*> stacks;
Thunk thunk;
const uint64_t* params;
long progress;          // bumps whenever a fiber moves on
int live;               // fibers not done
int blockArrived;       // at the block barrier
long blockGen;          // block barrier generation
std::vector<int> warpLive, warpArrived;
std::vector<long> warpGen;
std::vector<uint64_t> slots;  // one slot per thread
std::mt19937 rng(12345);

void yieldToScheduler() {
    if (_setjmp(current->jb) == 0) _longjmp(schedJb, 1);
}

void fiberMain() {
    thunk(params);
    current->done = true;
    live--;
    warpLive[current->linear / 32]--;
    progress++;
    // release barriers the finished thread no longer holds up
    if (live > 0 && blockArrived == live) {
        blockArrived = 0;
        blockGen++;
    }
    int w = current->linear / 32;
    if (warpLive[w] > 0 && warpArrived[w] == warpLive[w]) {
        warpArrived[w] = 0;
        warpGen[w]++;
    }
    _longjmp(schedJb, 1);
}

} // namespace

const uint3& threadIndex() { return current->tid; }

void syncthreads() {
    long gen = blockGen;
    progress++;
    if (++blockArrived == live) {
        blockArrived = 0;
        blockGen++;
        return;
    }
    current->waitKind = 1;
    current->waitGen = gen;
    while (blockGen == gen) yieldToScheduler();
    current->waitKind = 0;
}

static void warpBarrier(int w) {
    long gen = warpGen[w];
    progress++;
    if (++warpArrived[w] == warpLive[w]) {
        warpArrived[w] = 0;
        warpGen[w]++;
        return;
    }
    current->waitKind = 2;
    current->waitGen = gen;
    while (warpGen[w] == gen) yieldToScheduler();
    current->waitKind = 0;
}

void warpExchange(uint64_t v, int laneXor, int srcLane, uint64_t* out) {
    const int me = current->linear, w = me / 32, lane = me % 32;
    slots[me] = v;
    warpBarrier(w);
    const int src = srcLane >= 0 ? srcLane : (lane ^ laneXor);
    *out = slots[w * 32 + src];
    warpBarrier(w);
}

std::map<std::string, Thunk>& registry() {
    static std::map<std::string, Thunk> r;
    return r;
}

Registrar::Registrar(std::initializer_list<std::pair<const char*, Thunk>> ks) {
    for (auto& k : ks) registry()[k.first] = k.second;
}

// runBlock runs one block to completion; false on deadlock.
static bool runBlock(int nthreads) {
    fibers.assign(nthreads, Fiber{});
    while ((int)stacks.size() < nthreads) stacks.push_back((char*)malloc(kStack));
    const int warps = (nthreads + 31) / 32;
    warpLive.assign(warps, 0);
    warpArrived.assign(warps, 0);
    warpGen.assign(warps, 0);
    slots.assign(warps * 32, 0);
    for (int i = 0; i < nthreads; i++) {
        Fiber& f = fibers[i];
        f.linear = i;
        f.tid = uint3{(unsigned)(i % blockDim_.x), (unsigned)(i / blockDim_.x % blockDim_.y),
                      (unsigned)(i / (blockDim_.x * blockDim_.y))};
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks[i];
        f.ctx.uc_stack.ss_size = kStack;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, fiberMain, 0);
        warpLive[i / 32]++;
    }
    live = nthreads;
    blockArrived = 0;
    std::vector<int> order(nthreads);
    for (int i = 0; i < nthreads; i++) order[i] = i;
    while (live > 0) {
        const long before = progress;
        std::shuffle(order.begin(), order.end(), rng);
        for (int i : order) {
            Fiber& f = fibers[i];
            if (f.done) continue;
            // still blocked: skip without switching to it
            if (f.waitKind == 1 && blockGen == f.waitGen) continue;
            if (f.waitKind == 2 && warpGen[f.linear / 32] == f.waitGen) continue;
            current = &f;
            if (_setjmp(schedJb) == 0) {
                if (!f.started) {
                    f.started = true;
                    swapcontext(&scheduler, &f.ctx);
                } else {
                    _longjmp(f.jb, 1);
                }
            }
        }
        if (progress == before) return false;
    }
    return true;
}

} // namespace emu

using namespace emu;

extern "C" int emu_has(const char* name) { return registry().count(name) ? 1 : 0; }

extern "C" int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz,
                          const uint64_t* p, int np) {
    (void)np;
    auto it = registry().find(name);
    if (it == registry().end()) return 1;
    if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 || bx * by * bz > 1024) return 2;
    thunk = it->second;
    params = p;
    gridDim_ = uint3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim_ = uint3{(unsigned)bx, (unsigned)by, (unsigned)bz};
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                blockIdx_ = uint3{(unsigned)x, (unsigned)y, (unsigned)z};
                if (!runBlock(bx * by * bz)) return 3;
            }
    return 0;
}

extern "C" uint64_t emu_alloc(size_t bytes) {
    return (uint64_t)aligned_alloc(256, (bytes + 255) / 256 * 256);
}
extern "C" void emu_free(uint64_t p) { free((void*)p); }
extern "C" void emu_htod(uint64_t dst, const void* src, size_t n) { memcpy((void*)dst, src, n); }
extern "C" void emu_dtoh(void* dst, uint64_t src, size_t n) { memcpy(dst, (const void*)src, n); }
extern "C" void emu_dtod(uint64_t dst, uint64_t src, size_t n) { memmove((void*)dst, (const void*)src, n); }
extern "C" void emu_memset32(uint64_t dst, uint32_t v, size_t n) {
    uint32_t* p = (uint32_t*)dst;
    for (size_t i = 0; i < n; i++) p[i] = v;
}
