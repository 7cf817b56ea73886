//go:build cudaemu

// k_elementwise.cc: cuda/kernels/elementwise.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "elementwise.cu.h" // a link to cuda/kernels/elementwise.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(act_forward),
    EMU_KERNEL(act_backward),
    EMU_KERNEL(copy_f32),
    EMU_KERNEL(add_f32),
    EMU_KERNEL(bias_add),
    EMU_KERNEL(col_sum),
    EMU_KERNEL(gather_cols),
};
