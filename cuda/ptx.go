//go:build gpu

package cuda

import "embed"

// The PTX that `make ptx` compiles from kernels/*.cu; `make ptx-check`
// fails when it is older than its source.
//
//go:embed kernels/*.ptx
var ptxFiles embed.FS

// modules lists each PTX file and the kernels the package launches from
// it; Open resolves them all, so a kernel missing from the PTX fails Open
// rather than a later launch.
var modules = []struct {
	file    string
	kernels []string
}{
	{"gemm.ptx", []string{
		"gemm_nn_128", "gemm_nt_128", "gemm_tn_128", "gemm_tt_128",
		"gemm_nn_64", "gemm_nt_64", "gemm_tn_64", "gemm_tt_64",
		"gemm_nn_32", "gemm_nt_32", "gemm_tn_32", "gemm_tt_32",
		"gemm_splitk_reduce",
	}},
	{"elementwise.ptx", []string{
		"act_forward", "act_backward", "copy_f32", "add_f32", "bias_add", "col_sum", "gather_cols",
	}},
	{"norm.ptx", []string{
		"bn_stats_partial_2d", "bn_stats_partial_4d", "bn_stats_finalize", "bn_eval_invstd",
		"bn_running_update", "bn_apply_2d", "bn_apply_4d",
		"bn_bwd_partial_2d", "bn_bwd_partial_4d", "bn_bwd_finalize", "bn_bwd_dx_2d", "bn_bwd_dx_4d",
		"ln_forward_32_1", "ln_forward_32_2", "ln_forward_32_4", "ln_forward_32_8",
		"ln_forward_256_2", "ln_forward_256_4", "ln_forward_generic",
		"ln_backward_32_1", "ln_backward_32_2", "ln_backward_32_4", "ln_backward_32_8",
		"ln_backward_256_2", "ln_backward_256_4", "ln_backward_generic", "ln_bwd_finalize",
	}},
	{"groupnorm.ptx", []string{"gn_forward", "gn_backward", "rms_forward", "rms_backward", "norm_rows_finalize"}},
	{"loss.ptx", []string{"xent_rows", "xent_reduce", "xent_backward"}},
	{"optim.ptx", []string{"sgd_update", "momentum_update", "adam_update"}},
	{"conv.ptx", []string{"im2col3x3", "col2im3x3", "channel_bias_add", "channel_sum", "maxpool2_forward", "maxpool2_backward"}},
}
