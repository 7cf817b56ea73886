package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"normtap/bench"
	"normtap/graph"
)

// BenchCmd is `normtap bench`: flags only; package bench does the work.
type BenchCmd struct {
	Device      string          `default:"auto" enum:"auto,cpu,cuda" help:"auto: the GPU build beside this binary when a GPU is visible, else the CPU; cpu; cuda."`
	Model       graph.ModelKind `default:"mlp" help:"Model: ${models}."`
	Hidden      string          `default:"1024,1024" help:"Hidden layer widths of the MLP (or the CNN's two channel counts), comma-separated."`
	Batch       int             `default:"128" help:"Examples per training step."`
	Norm        string          `default:"none,batch,layer" help:"Normalizations to compare, comma-separated; R is relative to none."`
	Steps       int             `default:"50" help:"Timed training steps per configuration and round."`
	Warmup      int             `default:"10" help:"Untimed steps per configuration before each round."`
	Rounds      int             `default:"3" help:"Rounds over all configurations (and the peer), alternating, so that load changes hit every configuration alike."`
	Threads     int             `default:"0" help:"Threads (GOMAXPROCS) normtap runs on, also given to the peer; 0: every CPU."`
	Seed        uint64          `default:"1" help:"Seed of the weights and the random batch."`
	Micro       bool            `default:"true" negatable:"" help:"Time the BatchNorm and LayerNorm kernels and the copy bandwidth."`
	Tap         bool            `default:"true" negatable:"" help:"Time tapping one neuron each epoch."`
	Peer        string          `help:"Peer benchmark command run after each round with peer.py's flags, e.g. 'python3 bench/peer/peer.py'; the table then shows the ratios."`
	PeerThreads int             `default:"0" help:"Threads the peer is given (its --threads); 0: --threads."`
	JSON        string          `name:"json" type:"path" help:"Write the results as JSON here."`
	Plot        string          `type:"path" help:"Draw the throughput (and kernel) bars here (.png, .svg or .pdf)."`
}

func (c *BenchCmd) options() (bench.Options, error) {
	s := graph.DefaultSpec()
	h, err := parseInts("--hidden", c.Hidden)
	if err != nil {
		return bench.Options{}, err
	}
	s.Model, s.Hidden = c.Model, h
	if c.Model == graph.ModelCNN && c.Hidden == "1024,1024" {
		s.Hidden = []int{16, 32}
	}
	o := bench.Options{Spec: s, Batch: c.Batch, Steps: c.Steps, Warmup: c.Warmup, Rounds: c.Rounds, Seed: c.Seed,
		Opt:   graph.OptSpec{Kind: graph.OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		Micro: c.Micro, Tap: c.Tap, Command: "normtap " + strings.Join(os.Args[1:], " ")}
	for _, n := range strings.Split(c.Norm, ",") {
		norm, err := graph.ParseNorm(strings.TrimSpace(n))
		if err != nil {
			return o, usagef("--norm %s: %v", c.Norm, err)
		}
		o.Norms = append(o.Norms, norm)
	}
	if c.PeerThreads < 0 {
		return o, usagef("--peer-threads %d: must be ≥ 0 (0: --threads)", c.PeerThreads)
	}
	o.PeerThreads = c.PeerThreads
	if c.Threads < 0 {
		return o, usagef("--threads %d: must be ≥ 0 (0: every CPU)", c.Threads)
	}
	o.Threads = c.Threads
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if c.Plot != "" {
		if _, err := bench.PlotFormat(c.Plot); err != nil {
			return o, usagef("%v", err)
		}
	}
	if c.Peer != "" {
		o.PeerCommand = strings.Fields(c.Peer)
	}
	if err := o.Validate(); err != nil {
		return o, usagef("%v", err)
	}
	return o, nil
}

func (c *BenchCmd) Run(g *Globals, ctx context.Context) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	dev, err := pickDevice(c.Device)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(o.Threads)
	o.NewMachine = dev.newMachine
	o.Machine = bench.MachineInfo{BLAS: blasName, DeviceDescription: dev.desc}
	o.PeerDevice = "cpu"
	if dev.gpu {
		o.PeerDevice = "cuda"
		o.MeasureMicro = deviceMicro()
	}
	if !g.Quiet {
		o.Log = os.Stderr
		fmt.Fprintf(os.Stderr, "normtap: benchmarking on %s\n", dev.desc)
	}
	rep, err := bench.Run(ctx, o)
	if errors.Is(err, context.Canceled) {
		return &InterruptedError{Msg: "bench: interrupted; nothing written", Code: interruptCode(ctx)}
	}
	if err != nil {
		return err
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	if c.JSON != "" {
		if err := rep.WriteJSON(c.JSON); err != nil {
			return err
		}
	}
	if c.Plot != "" {
		if err := rep.WritePlot(c.Plot); err != nil {
			return err
		}
	}
	return nil
}
