package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"normtap/dataset"
	"normtap/graph"
	"normtap/rundir"
	"normtap/train"
)

// ModelFlags pick the model; shared by train, nodes and bench.
type ModelFlags struct {
	Model      graph.ModelKind `default:"mlp" help:"Model: ${models}. cnn: 1 to 6 conv3x3 blocks, each with norm and activation; a 2x2 max-pool follows a block while its feature map is at least 8x8 (on 28x28 MNIST the first two blocks pool, deeper ones keep 7x7); then a linear layer. resnet: a conv3x3 stem, then per --hidden width a stage of --blocks residual blocks (conv3x3-norm-act-conv3x3-norm plus the skip, then act); each stage after the first starts with a 2x2 max-pool by the cnn's rule; a 1x1 projection with its norm joins the skip where the width changes; global average pool, linear."`
	Hidden     string          `default:"1024,1024" help:"Hidden layer widths of the MLP, or the channel counts of the CNN's 1 to 6 conv blocks (default 16,32), or the resnet's stage widths (default 16,32,64), comma-separated."`
	Blocks     int             `default:"1" help:"Residual blocks per stage of --model resnet. Init: He convs and norm gains 1 (not the usual zero gain on each block's last norm: under Adam's lr-sized steps those branches take hundreds of steps to open; MNIST after 100 steps: 0.70 vs 0.91 test accuracy with BatchNorm). With --norm none there is no gain, and nothing rescales the residual sum: He-initialised blocks would each double its variance, exploding with depth. So, as Fixup (Zhang et al. 2019): each block's second conv starts at 0, so every block starts as its skip, and its first conv is He scaled by L^-1/2 for L blocks in all."`
	Norm       graph.Norm      `default:"batch" help:"Normalization: ${norms}."`
	NormPos    graph.NormPos   `default:"pre" help:"pre: norm before the activation (as in the BatchNorm paper); post: after it."`
	Act        string          `default:"relu" enum:"relu,gelu,sigmoid,tanh" help:"Activation: relu, gelu, sigmoid or tanh."`
	InitStd    float64         `default:"0" help:"Draw every weight from N(0, S^2) (the BatchNorm paper's small Gaussian init); 0 uses He init for relu/gelu hidden layers and Glorot otherwise. Biases start at 0, norm gains at 1."`
	BNMomentum float64         `default:"0.1" name:"bn-momentum" help:"Weight of each batch in BatchNorm's running statistics (PyTorch's convention)."`
	Groups     int             `default:"32" help:"GroupNorm's groups per layer (--norm group): clipped to the layer's channel (unit) count, which it must then divide."`
	Eps        float64         `default:"1e-5" help:"Epsilon added to the variance by the norms (to the mean square by rms)."`
	NormNoise  bool            `name:"norm-noise" help:"Santurkar et al.'s noisy BatchNorm: after each BatchNorm, per step and unit, a mean shift from U(-a, a) and a scale from U(1, b), with per-example jitter (training only; needs --norm batch)."`
	NormNoiseA float64         `name:"norm-noise-a" default:"0.5" help:"Bound a of the noisy BatchNorm's mean shift U(-a, a)."`
	NormNoiseB float64         `name:"norm-noise-b" default:"1.25" help:"Upper bound b of the noisy BatchNorm's scale U(1, b)."`
}

// spec turns the flags into a graph.Spec (the input shape is filled in
// from the data).
func (f ModelFlags) spec() (graph.Spec, error) {
	s := graph.DefaultSpec()
	h, err := modelHidden(f.Model, f.Hidden)
	if err != nil {
		return s, err
	}
	s.Model, s.Hidden, s.Norm, s.NormPos, s.Act = f.Model, h, f.Norm, f.NormPos, f.Act
	if f.Model == graph.ModelResNet {
		s.Blocks = f.Blocks
	}
	s.InitStd, s.BNMomentum, s.Eps = f.InitStd, f.BNMomentum, f.Eps
	s.Groups = 0 // recorded for GroupNorm only: other runs' config.json stay as they were
	if f.Norm == graph.NormGroup {
		s.Groups = f.Groups
	}
	if f.NormNoise {
		s.NormNoise, s.NoiseA, s.NoiseB = true, f.NormNoiseA, f.NormNoiseB
	}
	if err := s.Validate(); err != nil {
		return s, usagef("%v", err)
	}
	return s, nil
}

// parseInts reads a comma-separated list of integers.
func parseInts(flag, v string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, usagef("%s %s: %q is not an integer; give a comma-separated list such as 128,128", flag, v, p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseRange reads two comma-separated numbers.
func parseRange(flag, v string) ([2]float64, error) {
	var r [2]float64
	parts := strings.Split(v, ",")
	if len(parts) != 2 {
		return r, usagef("%s %s: want two numbers, low,high (e.g. 0.5,4)", flag, v)
	}
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return r, usagef("%s %s: %q is not a finite number", flag, v, p)
		}
		r[i] = x
	}
	return r, nil
}

// parseIntsOrAll reads "all" or a comma-separated list of integers.
func parseIntsOrAll(flag, v string) (list []int, all bool, err error) {
	if strings.TrimSpace(v) == "all" {
		return nil, true, nil
	}
	list, err = parseInts(flag, v)
	return list, false, err
}

// TrainCmd is `normtap train`.
type TrainCmd struct {
	ModelFlags `embed:""`

	Opt      graph.OptKind `default:"adam" help:"Optimizer: sgd, momentum or adam (PyTorch's semantics)."`
	LR       float64       `default:"0.001" name:"lr" help:"Learning rate."`
	Momentum float64       `default:"0.9" help:"Momentum of --opt momentum."`
	Batch    int           `default:"128" help:"Examples per training step."`
	Epochs   int           `default:"10" help:"Passes over the training set."`
	Seed     uint64        `default:"1" help:"Seed of the weight init and the data order: the same flags and seed give the same metrics."`

	Data       string `help:"Directory holding the four IDX files of an MNIST-format dataset (gzip or raw); default: the real MNIST bundled in the Go module cache." type:"path"`
	TrainLimit int    `default:"0" help:"Use only the first N training examples (0: all)."`
	Device     string `default:"auto" enum:"auto,cpu,cuda" help:"auto: the GPU build beside this binary when a GPU is visible, else the CPU; cpu; cuda."`
	Out        string `help:"Run directory: a new or empty folder, or a run to --resume (default runs/<norm>-<time>)."`
	Threads    int    `default:"0" help:"Threads (GOMAXPROCS) the training runs on; 0: every CPU (a sweep gives each run its share)."`
	Dataset    string `placeholder:"NAME" help:"A dataset normtap finds by itself: mnist (the default: the real MNIST in the Go module cache) or fashion (Fashion-MNIST from Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist); --data DIR instead reads any IDX set."`

	Tap           string         `help:"Nodes to tap, comma-separated (normtap nodes lists them), e.g. h2.act."`
	TapNeuron     string         `default:"0" help:"Columns of each tapped node to keep: K[,K...] or all. Default: neuron 0."`
	TapEpochs     string         `default:"all" help:"Epochs at whose end to tap: a list such as 1,10,30, or all."`
	TapEverySteps int            `default:"0" help:"Also tap every N training steps (0: never)."`
	TapExamples   int            `default:"1000" help:"Size of the probe set: the first N test examples, run in eval mode (--tap-mode probe)."`
	TapMode       rundir.TapMode `default:"probe" help:"probe: a fixed probe set in eval mode; batch: the current training batch in training mode."`

	CheckpointEverySteps int  `default:"0" help:"Also checkpoint every N steps (a checkpoint is always written at each epoch's end)."`
	Resume               bool `help:"Continue the run in --out from its checkpoint."`
	MaxSteps             int  `default:"0" hidden:"" help:"Stop after N optimizer steps in all."`

	ICSEvery        int    `name:"ics-every" default:"0" help:"Every N steps, measure each weighted layer's internal covariate shift (Santurkar et al.): the change of its gradient when the layers before it take their update; writes ics.csv (0: never)."`
	LandscapeEvery  int    `name:"landscape-every" default:"0" help:"Every N steps, probe the loss along the gradient: loss band, gradient predictiveness and effective beta-smoothness; writes landscape.csv (0: never)."`
	LandscapeRange  string `name:"landscape-range" default:"0.5,4" help:"Smallest and largest step size of the landscape probe, as multiples of --lr."`
	LandscapePoints int    `name:"landscape-points" default:"8" help:"Number of step sizes of the landscape probe, evenly spaced over --landscape-range."`

	given map[string]bool // the flags on the command line (AfterApply)
}

// maxThreads bounds --threads: far above any machine's cores, far below
// what makes the runtime fall over.
const maxThreads = 1024

// AfterApply notes which flags were given (kong calls it after parsing).
func (c *TrainCmd) AfterApply(kctx *kong.Context) error {
	c.given = givenFlags(kctx)
	return nil
}

// ignoredFlags warns about flags given that the rest of the command line
// makes meaningless: one line each, never silence.
func (c *TrainCmd) ignoredFlags(cfg train.Config) []string {
	var w []string
	ignored := func(flag, why string) {
		if c.given[flag] {
			w = append(w, fmt.Sprintf("--%s has no effect %s", flag, why))
		}
	}
	if len(cfg.Taps.Nodes) == 0 {
		for _, f := range []string{"tap-neuron", "tap-epochs", "tap-every-steps", "tap-examples", "tap-mode"} {
			ignored(f, "without --tap")
		}
	}
	if cfg.Taps.Mode == rundir.ModeBatch {
		ignored("tap-examples", "with --tap-mode batch (it taps the training batch)")
	}
	if cfg.Opt.Kind != graph.OptMomentum {
		ignored("momentum", "with --opt "+cfg.Opt.Kind.String()+" (only with --opt momentum)")
	}
	if cfg.Spec.Norm != graph.NormBatch {
		ignored("bn-momentum", "with --norm "+cfg.Spec.Norm.String()+" (only with --norm batch)")
	}
	if cfg.Spec.Norm == graph.NormNone {
		ignored("eps", "with --norm none")
		ignored("norm-pos", "with --norm none")
	}
	if !cfg.Spec.NormNoise {
		ignored("norm-noise-a", "without --norm-noise")
		ignored("norm-noise-b", "without --norm-noise")
	}
	if cfg.Measure.LandscapeEvery == 0 {
		ignored("landscape-range", "without --landscape-every")
		ignored("landscape-points", "without --landscape-every")
	}
	return w
}

func (c *TrainCmd) config() (train.Config, error) {
	if c.Threads < 0 || c.Threads > maxThreads {
		return train.Config{}, usagef("--threads %d: must be between 0 and %d (0: every CPU)", c.Threads, maxThreads)
	}
	if c.given["out"] && strings.TrimSpace(c.Out) == "" {
		return train.Config{}, usagef(`--out "": give a directory (or leave --out out for runs/<norm>-<time>)`)
	}
	spec, err := c.spec()
	if err != nil {
		return train.Config{}, err
	}
	cfg := train.Config{
		Spec:  spec,
		Opt:   graph.OptSpec{Kind: c.Opt, LR: c.LR, Momentum: c.Momentum, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		Batch: c.Batch, Epochs: c.Epochs, Seed: c.Seed, Data: c.Data, TrainLimit: c.TrainLimit,
		Device: c.Device, Out: c.Out, CheckpointEverySteps: c.CheckpointEverySteps, Resume: c.Resume, MaxSteps: c.MaxSteps,
		Taps: train.TapConfig{EverySteps: c.TapEverySteps, Examples: c.TapExamples, Mode: c.TapMode},
	}
	if cfg.Dataset, err = datasetFlag(c.Dataset, c.Data); err != nil {
		return cfg, err
	}
	cfg.Measure = train.MeasureConfig{ICSEvery: c.ICSEvery, LandscapeEvery: c.LandscapeEvery}
	landscapeRange, err := parseRange("--landscape-range", c.LandscapeRange)
	if err != nil {
		return cfg, err
	}
	if c.LandscapeEvery > 0 { // else the config keeps the zero values of runs made before these flags
		cfg.Measure.LandscapeRange, cfg.Measure.LandscapePoints = landscapeRange, c.LandscapePoints
	}
	if cfg.Out == "" {
		cfg.Out = fmt.Sprintf("runs/%s-%s", spec.Norm, time.Now().Format("20060102-150405"))
	}
	if c.Tap != "" {
		for _, n := range strings.Split(c.Tap, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Taps.Nodes = append(cfg.Taps.Nodes, n)
			}
		}
	}
	if cfg.Taps.Neurons, cfg.Taps.AllNeurons, err = parseIntsOrAll("--tap-neuron", c.TapNeuron); err != nil {
		return cfg, err
	}
	if cfg.Taps.Epochs, cfg.Taps.AllEpochs, err = parseIntsOrAll("--tap-epochs", c.TapEpochs); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("%v", err)
	}
	return cfg, nil
}

func (c *TrainCmd) Run(g *Globals, ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	dev, err := pickDevice(c.Device)
	if err != nil {
		return err
	}
	opts := train.Options{NewMachine: dev.newMachine, Meta: buildMeta(dev.desc)}
	opts.Warn = func(msg string) { fmt.Fprintf(os.Stderr, "normtap: warning: %s\n", msg) }
	for _, w := range c.ignoredFlags(cfg) {
		opts.Warn(w)
	}
	if !g.Quiet {
		opts.Log = os.Stderr
		opts.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
		fmt.Fprintf(os.Stderr, "normtap: training on %s into %s\n", dev.desc, cfg.Out)
	}
	res, err := train.Run(ctx, cfg, opts)
	if errors.Is(err, train.ErrInterrupted) {
		return &InterruptedError{Msg: err.Error(), Code: interruptCode(ctx)}
	}
	if err != nil {
		return err
	}
	last := res.Metrics[len(res.Metrics)-1]
	fmt.Printf("test accuracy %.4f, test loss %.4f after epoch %d (%d steps); run directory %s\n", last.TestAcc, last.TestLoss, last.Epoch, last.Step, cfg.Out)
	return nil
}

// datasetFlag resolves --dataset beside --data: the named dataset (MNIST
// when neither is given), or none when --data names a directory.
func datasetFlag(name, data string) (dataset.Name, error) {
	if name == "" {
		if data != "" {
			return 0, nil
		}
		return dataset.MNIST, nil
	}
	if data != "" {
		return 0, usagef("--dataset %s and --data %s: give one of them (--data reads any IDX set)", name, data)
	}
	n, err := dataset.ParseName(name)
	if err != nil {
		return 0, usagef("--dataset: %v", err)
	}
	return n, nil
}
