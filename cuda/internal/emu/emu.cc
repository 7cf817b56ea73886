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
// A launch is refused, as the driver would refuse it, when its argument
// count differs from the kernel's parameters or its grid or block is out of
// CUDA's limits; after it runs, every allocation's guard zones are checked
// for writes out of bounds (see "device memory with guard zones" below).
#undef _FORTIFY_SOURCE
#include "emu.h"
#include "emu_api.h"
#include "registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
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

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}

Registrar::Registrar(std::initializer_list<Kernel> ks) {
    for (auto& k : ks) registry()[k.name] = k;
}

// --- device memory with guard zones -------------------------------------
//
// Every allocation sits between two guard zones of kGuard bytes, and its
// data and the zones start filled with kPoison, a float32 NaN: a kernel
// that reads memory nobody wrote, or reads past an end, sees NaNs; one that
// writes into a zone is reported by the check after each launch (which
// then restores the zone). Copies and fills are checked against the
// allocation they touch.

const size_t kGuard = 1024;
const uint32_t kPoison = 0xFFA5A5A5u;  // a NaN

struct Allocation {
    char* raw;     // kGuard | data (bytes, rounded up to 256) | kGuard
    size_t bytes;  // asked for
    size_t span;   // data rounded up to 256
};
std::map<uint64_t, Allocation> allocations;  // by data address
std::vector<char> poisonBuf;                  // kPoison repeated, for memcmp

static void poison(char* p, size_t n) {
    for (size_t i = 0; i + 4 <= n; i += 4) memcpy(p + i, &kPoison, 4);
}

static const std::vector<char>& poisonPattern() {
    if (poisonBuf.empty()) {
        poisonBuf.resize(kGuard + 256);
        poison(poisonBuf.data(), poisonBuf.size());
    }
    return poisonBuf;
}

// zones of one allocation: the head and [bytes, span + kGuard) after data
static bool zonesIntact(const Allocation& a, long* where) {
    const char* data = a.raw + kGuard;
    const auto& pat = poisonPattern();
    if (memcmp(a.raw, pat.data(), kGuard) != 0) {
        for (size_t i = 0; i < kGuard; i++)
            if (a.raw[i] != pat[i]) {
                *where = (long)i - (long)kGuard;
                break;
            }
        return false;
    }
    const size_t tail = a.span + kGuard - a.bytes;  // bytes is a multiple of 4
    if (memcmp(data + a.bytes, pat.data(), tail) != 0) {
        for (size_t i = 0; i < tail; i++)
            if (data[a.bytes + i] != pat[i]) {
                *where = (long)(a.bytes + i);
                break;
            }
        return false;
    }
    return true;
}

// owner returns the allocation holding [p, p+n), or null.
static const Allocation* owner(uint64_t p, size_t n) {
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return nullptr;
    --it;
    if (p < it->first || p + n > it->first + it->second.bytes) return nullptr;
    return &it->second;
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

namespace {
std::string lastError;

int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(int code, const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lastError = buf;
    return code;
}
} // namespace

extern "C" const char* emu_error() { return lastError.c_str(); }

extern "C" int emu_has(const char* name) { return registry().count(name) ? 1 : 0; }

extern "C" const char* emu_params(const char* name) {
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : it->second.params;
}

// emu_launch runs a kernel to completion; 0, or an error code with
// emu_error() saying what: 1 no such kernel, 2 bad launch (grid, block or
// argument count: what the driver refuses), 3 deadlock, 4 out-of-bounds
// write.
extern "C" int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz,
                          const uint64_t* p, int np) {
    auto it = registry().find(name);
    if (it == registry().end()) return fail(1, "no kernel %s", name);
    const int want = (int)strlen(it->second.params);
    if (np != want)
        return fail(2, "%d arguments for %d parameters (%s)", np, want, it->second.params);
    // the limits of every CUDA device since compute capability 3.0
    if (gx < 1 || gy < 1 || gz < 1 || gy > 65535 || gz > 65535)
        return fail(2, "grid (%d, %d, %d): x must be 1 to 2^31-1, y and z 1 to 65535", gx, gy, gz);
    if (bx < 1 || by < 1 || bz < 1 || bx > 1024 || by > 1024 || bz > 64 || (long)bx * by * bz > 1024)
        return fail(2, "block (%d, %d, %d): at most (1024, 1024, 64) and 1024 threads", bx, by, bz);
    thunk = it->second.thunk;
    params = p;
    gridDim_ = uint3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim_ = uint3{(unsigned)bx, (unsigned)by, (unsigned)bz};
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                blockIdx_ = uint3{(unsigned)x, (unsigned)y, (unsigned)z};
                if (!runBlock(bx * by * bz))
                    return fail(3, "deadlock in block (%d, %d, %d): a barrier not reached by every thread", x, y, z);
            }
    for (auto& [ptr, a] : allocations) {
        long where = 0;
        if (!zonesIntact(a, &where)) {
            // restore the zones, so that the next launch is checked afresh
            poison(a.raw, kGuard);
            poison(a.raw + kGuard + a.bytes, a.span + kGuard - a.bytes);
            if (where < 0)
                return fail(4, "wrote %ld bytes before the start of a %zu-byte allocation at %#llx", -where, a.bytes,
                            (unsigned long long)ptr);
            return fail(4, "wrote past the end of a %zu-byte allocation at %#llx (at byte %ld)", a.bytes,
                        (unsigned long long)ptr, where);
        }
    }
    return 0;
}

extern "C" uint64_t emu_alloc(size_t bytes) {
    const size_t span = (bytes + 255) / 256 * 256;
    char* raw = (char*)aligned_alloc(256, span + 2 * kGuard);
    if (!raw) return 0;
    poison(raw, span + 2 * kGuard);
    const uint64_t p = (uint64_t)(raw + kGuard);
    allocations[p] = Allocation{raw, bytes, span};
    return p;
}

extern "C" int emu_free(uint64_t p) {
    auto it = allocations.find(p);
    if (it == allocations.end()) return fail(5, "free of %#llx, which is not an allocation", (unsigned long long)p);
    free(it->second.raw);
    allocations.erase(it);
    return 0;
}

static int inBounds(const char* op, uint64_t p, size_t n) {
    if (n == 0 || owner(p, n)) return 0;
    return fail(5, "%s of %zu bytes at %#llx: outside every allocation", op, n, (unsigned long long)p);
}

extern "C" int emu_htod(uint64_t dst, const void* src, size_t n) {
    if (inBounds("copy to the device", dst, n)) return 5;
    memcpy((void*)dst, src, n);
    return 0;
}
extern "C" int emu_dtoh(void* dst, uint64_t src, size_t n) {
    if (inBounds("copy from the device", src, n)) return 5;
    memcpy(dst, (const void*)src, n);
    return 0;
}
extern "C" int emu_dtod(uint64_t dst, uint64_t src, size_t n) {
    if (inBounds("device copy from", src, n) || inBounds("device copy to", dst, n)) return 5;
    memmove((void*)dst, (const void*)src, n);
    return 0;
}
extern "C" int emu_memset32(uint64_t dst, uint32_t v, size_t n) {
    if (inBounds("fill", dst, 4 * n)) return 5;
    uint32_t* q = (uint32_t*)dst;
    for (size_t i = 0; i < n; i++) q[i] = v;
    return 0;
}
