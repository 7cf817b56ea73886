//go:build cudaemu

// k_loss.cc: cuda/kernels/loss.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "loss.cu.h" // a link to cuda/kernels/loss.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(xent_rows),
    EMU_KERNEL(xent_reduce),
    EMU_KERNEL(xent_backward),
};
