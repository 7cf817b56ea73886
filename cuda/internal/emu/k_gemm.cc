//go:build cudaemu

// k_gemm.cc: cuda/kernels/gemm.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "gemm.cu.h" // a link to cuda/kernels/gemm.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(gemm_nn_128),
    EMU_KERNEL(gemm_nt_128),
    EMU_KERNEL(gemm_tn_128),
    EMU_KERNEL(gemm_tt_128),
    EMU_KERNEL(gemm_nn_64),
    EMU_KERNEL(gemm_nt_64),
    EMU_KERNEL(gemm_tn_64),
    EMU_KERNEL(gemm_tt_64),
    EMU_KERNEL(gemm_nn_32),
    EMU_KERNEL(gemm_nt_32),
    EMU_KERNEL(gemm_tn_32),
    EMU_KERNEL(gemm_tt_32),
    EMU_KERNEL(gemm_splitk_reduce),
};
