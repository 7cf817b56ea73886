//go:build cudaemu

// k_groupnorm.cc: cuda/kernels/groupnorm.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "groupnorm.cu.h" // a link to cuda/kernels/groupnorm.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(gn_forward),
    EMU_KERNEL(gn_backward),
    EMU_KERNEL(rms_forward),
    EMU_KERNEL(rms_backward),
    EMU_KERNEL(norm_rows_finalize),
};
