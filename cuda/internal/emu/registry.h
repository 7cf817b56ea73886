// registry.h: kernels register a thunk by name that unpacks the launch's
// 8-byte argument slots into the kernel's parameter types and calls it.
#pragma once
#include <stdint.h>
#include <string.h>

#include <initializer_list>
#include <type_traits>
#include <utility>

namespace emu {
typedef void (*Thunk)(const uint64_t*);

struct Registrar {
    Registrar(std::initializer_list<std::pair<const char*, Thunk>> kernels);
};

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

#define EMU_KERNEL(name) {#name, [](const uint64_t* p) { emu::call(name, p); }}
