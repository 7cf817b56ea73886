// registry.h: kernels register a thunk by name that unpacks the launch's
// 8-byte argument slots into the kernel's parameter types and calls it,
// with the kinds of those parameters (p pointer, i int, f float) as the
// host compiler sees them, which the launch's argument count and the PTX's
// .entry signature are checked against.
#pragma once
#include <stdint.h>
#include <string.h>

#include <initializer_list>
#include <type_traits>
#include <utility>

namespace emu {
typedef void (*Thunk)(const uint64_t*);

struct Kernel {
    const char* name;
    Thunk thunk;
    const char* params;  // one kind per parameter
};

struct Registrar {
    Registrar(std::initializer_list<Kernel> kernels);
};

template <typename T>
constexpr char kindOf() {
    if constexpr (std::is_pointer_v<T>) {
        return 'p';
    } else if constexpr (std::is_same_v<T, float>) {
        return 'f';
    } else {
        static_assert(std::is_same_v<T, int>, "kernel parameters are pointers, ints and floats");
        return 'i';
    }
}

template <typename... A>
const char* kindsOf(void (*)(A...)) {
    static const char kinds[] = {kindOf<A>()..., 0};
    return kinds;
}

template <typename T>
T arg(uint64_t v) {
    if constexpr (std::is_pointer_v<T>) {
        return reinterpret_cast<T>(v);
    } else if constexpr (std::is_same_v<T, float>) {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    } else {
        static_assert(std::is_same_v<T, int>, "kernel parameters are pointers, ints and floats");
        return (int)(uint32_t)v;
    }
}

template <typename... A, size_t... I>
void callWith(void (*f)(A...), const uint64_t* p, std::index_sequence<I...>) {
    f(arg<A>(p[I])...);
}

template <typename... A>
void call(void (*f)(A...), const uint64_t* p) {
    callWith(f, p, std::index_sequence_for<A...>{});
}
} // namespace emu

#define EMU_KERNEL(name) {#name, [](const uint64_t* p) { emu::call(name, p); }, emu::kindsOf(name)}
