// Package bench measures what normtap's training costs: milliseconds per
// training step and examples per second for each normalization, the norm
// overhead R (step time with a norm ÷ without), the forward pass alone,
// the BatchNorm and LayerNorm kernels in GB/s next to this machine's copy
// bandwidth, and what tapping a neuron each epoch adds. It can run a peer
// benchmark (bench/peer/peer.py, PyTorch) between its own rounds and report
// the ratios.
//
// The training measurements use only the graph.Machine interface, with the
// machine's constructor passed in, so the same code times the CPU machine
// and the GPU one. Every number in a Report comes from one function here,
// and its unit is in its name.
package bench
