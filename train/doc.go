// Package train runs a training job into a run directory: it loads the
// data, builds the model, steps a graph.Machine through the epochs,
// evaluates on the test set, taps the chosen nodes, and writes
// config.json, metrics.csv, taps and checkpoints (layout: package rundir).
//
// It is the one place that knows the order of those things; the command
// line only turns flags into a Config.
package train
