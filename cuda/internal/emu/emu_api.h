// emu_api.h: the emulator's C interface, used by emu.go.
#pragma once
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
const char* emu_error(void);
int emu_has(const char* name);
const char* emu_params(const char* name);
int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz, const uint64_t* params, int n);
uint64_t emu_alloc(size_t bytes);
int emu_free(uint64_t p);
int emu_htod(uint64_t dst, const void* src, size_t n);
int emu_dtoh(void* dst, uint64_t src, size_t n);
int emu_dtod(uint64_t dst, uint64_t src, size_t n);
int emu_memset32(uint64_t dst, uint32_t v, size_t n);
#ifdef __cplusplus
}
#endif
