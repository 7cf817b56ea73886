//go:build cudaemu

// k_optim.cc: cuda/kernels/optim.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "optim.cu.h" // a link to cuda/kernels/optim.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(sgd_update),
    EMU_KERNEL(momentum_update),
    EMU_KERNEL(adam_update),
};
