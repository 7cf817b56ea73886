package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mattn/go-shellwords"

	"normtap/bench"
	"normtap/graph"
	"normtap/kernels"
	"normtap/plots"
	"normtap/rundir"
)

// BenchCmd is `normtap bench`: flags only; package bench does the work.
type BenchCmd struct {
	Device      string          `default:"auto" enum:"auto,cpu,cuda" help:"auto: the GPU build beside this binary when a GPU is visible, else the CPU; cpu; cuda."`
	Model       graph.ModelKind `default:"mlp" help:"Model: ${models}."`
	Hidden      string          `default:"1024,1024" help:"Hidden layer widths of the MLP (or the channel counts of the CNN's 1 to 6 conv blocks, or the resnet's stage widths), comma-separated."`
	Blocks      int             `default:"1" help:"Residual blocks per stage of --model resnet."`
	Batch       int             `default:"128" help:"Examples per training step."`
	Norm        string          `default:"none,batch,layer,group,rms" help:"Normalizations to compare, comma-separated (${norms}); R is relative to none."`
	Groups      int             `default:"32" help:"GroupNorm's groups per layer (clipped to the layer's width, which it must divide)."`
	Steps       int             `default:"50" help:"Timed training steps per configuration and round."`
	Warmup      int             `default:"10" help:"Untimed steps per configuration before each round."`
	Rounds      int             `default:"3" help:"Rounds over all configurations (and the peer), alternating, so that load changes hit every configuration alike."`
	Threads     int             `default:"0" help:"Threads (GOMAXPROCS) normtap runs on, also given to the peer; 0: every CPU; at most 1024."`
	Seed        uint64          `default:"1" help:"Seed of the weights and the random batch."`
	Micro       bool            `default:"true" negatable:"" help:"Time the BatchNorm and LayerNorm kernels and the copy bandwidth."`
	Tap         bool            `default:"true" negatable:"" help:"Time tapping one neuron each epoch."`
	Peer        string          `help:"Peer benchmark command run after each round with peer.py's flags, e.g. 'python3 bench/peer/peer.py'; split into words as a shell does (quotes and backslashes respected; no variables, globs or pipes); the table then shows the ratios."`
	PeerThreads int             `default:"0" help:"Threads the peer is given (its --threads); 0: --threads."`
	PeerTimeout time.Duration   `default:"10m" help:"Longest one peer run may take before it is stopped and bench fails, e.g. 90s or 10m."`
	JSON        string          `name:"json" type:"path" help:"Write the results as JSON here."`
	Plot        string          `type:"path" help:"Draw the throughput (and kernel) bars here (.png, .svg or .pdf)."`
}

func (c *BenchCmd) options() (bench.Options, error) {
	s := graph.DefaultSpec()
	h, err := modelHidden(c.Model, c.Hidden)
	if err != nil {
		return bench.Options{}, err
	}
	s.Model, s.Hidden, s.Groups = c.Model, h, c.Groups
	if c.Model == graph.ModelResNet {
		s.Blocks = c.Blocks
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
	o.PeerThreads, o.Threads, o.PeerTimeout = c.PeerThreads, c.Threads, c.PeerTimeout
	if c.PeerTimeout <= 0 {
		return o, usagef("--peer-timeout %v: must be above 0, e.g. 10m", c.PeerTimeout)
	}
	if err := o.Validate(); err != nil { // bounds --threads before it is used
		return o, usagef("%v", err)
	}
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if c.Plot != "" {
		if _, err := bench.PlotFormat(c.Plot); err != nil {
			return o, usagef("%v", err)
		}
	}
	if c.JSON != "" && c.JSON == c.Plot {
		return o, usagef("--json and --plot are both %s; give two files", c.JSON)
	}
	if c.Peer != "" {
		if o.PeerCommand, err = splitCommand(c.Peer); err != nil {
			return o, usagef("--peer %q: %v", c.Peer, err)
		}
	}
	return o, nil
}

// splitCommand splits a command line into its argv as a POSIX shell would
// (quotes and backslashes; no expansion) and refuses what only a shell can
// run: an operator such as | ; & < > outside quotes.
func splitCommand(line string) ([]string, error) {
	p := shellwords.NewParser()
	argv, err := p.Parse(line)
	if err != nil {
		return nil, fmt.Errorf("cannot split it into words (%v); check its quotes", err)
	}
	if p.Position >= 0 {
		return nil, fmt.Errorf("it holds a shell operator at %q; normtap runs one command, not a shell line (wrap it in sh -c '…' if you need one)", line[p.Position:])
	}
	if len(argv) == 0 {
		return nil, errors.New("no command in it")
	}
	return argv, nil
}

// checkReportFile refuses to replace a file that is not a report bench
// wrote (a JSON object with "results").
func checkReportFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--json %s: %w", path, err)
	}
	var report map[string]json.RawMessage
	if json.Unmarshal(data, &report) != nil || report["results"] == nil {
		return fmt.Errorf("--json %s exists and is not a report normtap bench wrote; normtap replaces only its own files: move it or choose another path", path)
	}
	return nil
}

// checkWritable refuses, before any work, an output file that cannot be
// written: a folder, a missing or read-only folder, or a run's own file.
func checkWritable(flag, path string) error {
	if dir, ok := rundir.RunFileOf(path); ok {
		return usagef("%s %s: that is run %s's own file; choose another path", flag, path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("%s %s is a folder; give a file name", flag, path)
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".normtap-probe-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot write in %s: %w", flag, path, dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

func (c *BenchCmd) Run(g *Globals, ctx context.Context) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	for _, out := range []struct{ flag, path string }{{"--json", c.JSON}, {"--plot", c.Plot}} {
		if out.path != "" {
			if err := checkWritable(out.flag, out.path); err != nil {
				return err
			}
		}
	}
	if c.Plot != "" {
		if err := plots.CheckOutput(c.Plot, nil); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if c.JSON != "" {
		if err := checkReportFile(c.JSON); err != nil {
			return err
		}
	}
	dev, err := pickDevice(c.Device)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(o.Threads)
	o.NewMachine = dev.newMachine
	o.Machine = bench.MachineInfo{BLAS: blasName, BLASKernel: kernels.BLASKernel(), DeviceDescription: dev.desc}
	o.PeerDevice = "cpu"
	if dev.gpu {
		o.PeerDevice = "cuda"
		o.MeasureMicro = deviceMicro()
	} else {
		o.MeasureGemm = bench.CPUGemmSeconds
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
