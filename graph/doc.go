// Package graph turns a model spec into a Gorgonia expression graph built
// from normtap's ops (MLP or small CNN, with BatchNorm, LayerNorm or no
// normalization), names its tap points, differentiates it, and runs it.
//
// A Model is the graph plus its parameters, BatchNorm states and tap
// points (spec.go, build.go, cnn.go). A Machine runs a Model:
//
//   - walk.go: the one graph walk every machine shares (sort, a buffer per
//     node allocated once, each op binding its own kernel, the bound calls
//     in topological order);
//   - machine.go, schedule.go: the CPU machine (layers.Binder over a
//     kernels.Workers pool, optimizer updates interleaved with backward);
//   - machine_gpu.go (gpu build): the GPU machine, the same walk over device
//     buffers (layers.GPUBinder);
//   - optim.go: the optimizer kinds, their state and the one dispatch both
//     machines use (the updates themselves are in package kernels);
//   - measure.go: internal covariate shift and the loss landscape, on any
//     Machine.
package graph
