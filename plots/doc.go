// Package plots draws normtap's figures from run directories with
// gonum/plot: the density of a tapped neuron's activations across epochs
// (the seed figure), its percentiles over training, test curves, drift
// (Wasserstein-1 from the first tapped epoch) and ridge plots; and, from a
// sweep's root, the final metric against a varied flag (SweepFigure, its
// numbers from AggregateSweep) and every run's curves.
//
// The numbers come from plain functions that tests check — KDE,
// SilvermanBandwidth, Percentiles, Wasserstein1, MeanStd, DriftTable — and
// the figures are thin drawing code around them: each kind is a function
// from runs to a Figure (panels side by side, a legend row and a caption),
// and Save writes a Figure as png, svg or pdf. Render is the whole of
// `normtap plot`.
package plots
