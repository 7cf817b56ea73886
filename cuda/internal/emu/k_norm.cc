//go:build cudaemu

// k_norm.cc: cuda/kernels/norm.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "norm.cu.h" // a link to cuda/kernels/norm.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(bn_stats_partial_2d),
    EMU_KERNEL(bn_stats_partial_4d),
    EMU_KERNEL(bn_stats_finalize),
    EMU_KERNEL(bn_eval_invstd),
    EMU_KERNEL(bn_running_update),
    EMU_KERNEL(bn_apply_2d),
    EMU_KERNEL(bn_apply_4d),
    EMU_KERNEL(bn_bwd_partial_2d),
    EMU_KERNEL(bn_bwd_partial_4d),
    EMU_KERNEL(bn_bwd_finalize),
    EMU_KERNEL(bn_bwd_dx_2d),
    EMU_KERNEL(bn_bwd_dx_4d),
    EMU_KERNEL(ln_forward_32_1),
    EMU_KERNEL(ln_forward_32_2),
    EMU_KERNEL(ln_forward_32_4),
    EMU_KERNEL(ln_forward_32_8),
    EMU_KERNEL(ln_forward_256_2),
    EMU_KERNEL(ln_forward_256_4),
    EMU_KERNEL(ln_forward_generic),
    EMU_KERNEL(ln_backward_32_1),
    EMU_KERNEL(ln_backward_32_2),
    EMU_KERNEL(ln_backward_32_4),
    EMU_KERNEL(ln_backward_32_8),
    EMU_KERNEL(ln_backward_256_2),
    EMU_KERNEL(ln_backward_256_4),
    EMU_KERNEL(ln_backward_generic),
    EMU_KERNEL(ln_bwd_finalize),
};
