// Package graph turns a model spec into a Gorgonia expression graph built
// from normtap's ops (MLP or small CNN, with BatchNorm, LayerNorm or no
// normalization), names its tap points, differentiates it, and runs it.
//
// A Model is the graph plus its parameters, BatchNorm states and tap
// points. A Machine runs a Model: the CPU Machine here walks the graph in
// topological order and calls each op's kernel on buffers allocated once;
// the GPU build adds one that does the same on the device.
package graph
