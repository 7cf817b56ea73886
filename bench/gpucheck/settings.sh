# settings.sh — the GPU check's training runs, in one place: sourced by
# reference.sh (which trains them on the CPU when `make gpu-check-build`
# packs the check) and by run.sh (which trains them on the GPU host and
# compares). GPUCHECK_QUICK=1 picks the small set of a dry run.
#
# CHECK_RUNS: one run per word, name:model:norm:hidden:train-limit
# (train-limit 0: the whole training set; the CNN takes 20000 examples, as
# its CPU reference is the slowest part of packing). CHECK_TRAIN_FLAGS: the
# flags all of them share (one epoch, same seed, so CPU and GPU see the
# same batches).
if [ "${GPUCHECK_QUICK:-}" = 1 ]; then
	CHECK_RUNS="mlp-none:mlp:none:64,64:2000 mlp-batch:mlp:batch:64,64:2000 mlp-layer:mlp:layer:64,64:2000 cnn-batch:cnn:batch:4,8:512"
else
	CHECK_RUNS="mlp-none:mlp:none:1024,1024:0 mlp-batch:mlp:batch:1024,1024:0 mlp-layer:mlp:layer:1024,1024:0 cnn-batch:cnn:batch:16,32:20000"
fi
CHECK_TRAIN_FLAGS="--epochs 1 --batch 128 --opt adam --lr 0.001 --seed 1"
# the largest |GPU − CPU| test accuracy, in points, that passes
CHECK_ACC_POINTS=0.5
