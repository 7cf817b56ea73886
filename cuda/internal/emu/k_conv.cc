//go:build cudaemu

// k_conv.cc: cuda/kernels/conv.cu compiled as host C++ for the emulator.
#include "emu.h"
#include "registry.h"

#include "conv.cu.h" // a link to cuda/kernels/conv.cu, so the Go build cache sees its edits

static emu::Registrar registered{
    EMU_KERNEL(im2col3x3),
    EMU_KERNEL(col2im3x3),
    EMU_KERNEL(channel_bias_add),
    EMU_KERNEL(channel_sum),
    EMU_KERNEL(maxpool2_forward),
    EMU_KERNEL(maxpool2_backward),
};
