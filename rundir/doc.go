// Package rundir defines the layout of a normtap run directory, once, and
// reads and writes its files:
//
//	config.json           the resolved job and what ran it: RunConfig, schema ConfigSchema (WriteConfig, ReadConfig)
//	metrics.csv           one row per epoch (WriteMetrics, ReadMetrics)
//	ics.csv               internal covariate shift per layer and measured step (WriteICS, ReadICS)
//	landscape.csv         the loss landscape along the gradient per measured step (WriteLandscape, ReadLandscape)
//	taps/<node>/*.npy     tapped activations, float32 [examples, neurons] (WriteTap, ReadTap)
//	taps/index.json       the list of taps (ReadIndex)
//	checkpoint/           written by the trainer (CheckpointFile: the whole of it)
//
// A sweep's root (normtap sweep --out ROOT) holds one run directory per
// combination of its varied flags and sweep.json, mapping each directory
// to its flags (SweepIndex: WriteSweepIndex, ReadSweepIndex).
//
// Every file is written atomically: into a temporary file in the same
// directory, fsynced, then renamed over the old one, so a reader (or a run
// killed half-way) never sees a partial file.
package rundir
