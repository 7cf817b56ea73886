package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"normtap/graph"
)

// Options configure Run.
type Options struct {
	Spec   graph.Spec // the model; Spec.Norm is replaced by each of Norms
	Norms  []graph.Norm
	Batch  int
	Steps  int // timed steps per configuration and round
	Warmup int // untimed steps per configuration before each round
	Rounds int // rounds of all configurations (and the peer), alternating
	Opt    graph.OptSpec
	Seed   uint64
	// NewMachine makes each configuration's machine (CPU or GPU).
	NewMachine NewMachine
	// Threads is the number of threads normtap runs on (GOMAXPROCS, set by
	// the caller) and that the peer is given.
	Threads int
	// Micro: also time the norm kernels at MicroShapes (default
	// DefaultMicroShapes), each sample at least MicroMinTime.
	Micro        bool
	MicroShapes  []Shape
	MicroMinTime time.Duration
	// MeasureMicro, when set, replaces the CPU kernels' measurement: the
	// GPU build times its device kernels against a device-to-device copy.
	MeasureMicro func(ctx context.Context) (copyGBPerSec float64, micro []Micro, err error)
	// Tap: also time tapping one neuron per epoch.
	Tap bool
	// PeerCommand, when set, is run after each round with peer.py's flags
	// added (its argv: e.g. python3 bench/peer/peer.py); PeerDevice is its
	// --device and PeerThreads its --threads (0: Threads).
	PeerCommand []string
	PeerDevice  string
	PeerThreads int
	Machine     MachineInfo // filled in by the caller: BLAS, device description
	Command     string      // the command line, for the record
	Log         io.Writer   // progress lines; nil for none
}

// MachineInfo says what the numbers were measured on.
type MachineInfo struct {
	NProc             int    `json:"nproc"`
	CPUModel          string `json:"cpu_model"`
	GOMAXPROCS        int    `json:"gomaxprocs"`
	Go                string `json:"go"`
	BLAS              string `json:"blas"`
	DeviceDescription string `json:"device_description"`
}

// Report is everything Run measured; it is what --json writes.
type Report struct {
	Command string      `json:"command"`
	Machine MachineInfo `json:"machine"`
	Opt     string      `json:"optimizer"`
	Rounds  int         `json:"rounds"`
	Results []Result    `json:"results"`
	Peer    *Peer       `json:"peer,omitempty"`
	// CopyGBPerSec is this machine's single-core copy bandwidth from and to
	// main memory (CopyGBPerSec(CopyBytesLarge)).
	CopyGBPerSec float64      `json:"copy_gb_per_sec"`
	Micro        []Micro      `json:"micro,omitempty"`
	Tap          *TapOverhead `json:"tap_overhead,omitempty"`
}

// Validate names the flag at fault.
func (o *Options) Validate() error {
	if len(o.Norms) == 0 {
		return fmt.Errorf("--norm: give at least one of none, batch, layer")
	}
	for _, n := range o.Norms {
		s := o.Spec
		s.Norm = n
		if err := s.Validate(); err != nil {
			return err
		}
	}
	switch {
	case o.Batch < 1:
		return fmt.Errorf("--batch %d: must be ≥ 1", o.Batch)
	case o.Steps < 1:
		return fmt.Errorf("--steps %d: must be ≥ 1", o.Steps)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup %d: must be ≥ 0", o.Warmup)
	case o.Rounds < 1:
		return fmt.Errorf("--rounds %d: must be ≥ 1", o.Rounds)
	}
	return o.Opt.Validate()
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "normtap bench: "+format+"\n", args...)
	}
}

// Run measures every configuration in Rounds rounds, alternating between
// configurations (and the peer, after each round of normtap's), then the
// copy bandwidth, the norm kernels and the tap overhead.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.MicroShapes == nil {
		o.MicroShapes = DefaultMicroShapes
	}
	if o.MicroMinTime == 0 {
		o.MicroMinTime = 50 * time.Millisecond
	}
	rep := &Report{Command: o.Command, Machine: o.Machine, Rounds: o.Rounds,
		Opt: fmt.Sprintf("%s lr %g betas (%g, %g) eps %g", o.Opt.Kind, o.Opt.LR, o.Opt.Beta1, o.Opt.Beta2, o.Opt.Eps)}
	rep.Machine.NProc, rep.Machine.GOMAXPROCS, rep.Machine.Go = runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version()
	rep.Machine.CPUModel = cpuModel()

	var trainers []*trainer
	defer func() {
		for _, t := range trainers {
			t.mach.Close()
		}
	}()
	for _, norm := range o.Norms {
		s := o.Spec
		s.Norm = norm
		t, err := newTrainer(s, o.Batch, o.Opt, o.Seed, o.NewMachine)
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", norm, err)
		}
		trainers = append(trainers, t)
	}
	var peerRuns []*PeerRun
	var ourRounds []map[graph.Norm]float64
	for r := 1; r <= o.Rounds; r++ {
		round := map[graph.Norm]float64{}
		for _, t := range trainers {
			o.logf("round %d/%d: %s, %d warm-up and %d timed steps", r, o.Rounds, t.spec.Norm, o.Warmup, o.Steps)
			before := len(t.stepMs)
			if err := t.round(ctx, o.Warmup, o.Steps); err != nil {
				return nil, fmt.Errorf("bench %s: %w", t.spec.Norm, err)
			}
			round[t.spec.Norm] = median(t.stepMs[before:])
		}
		ourRounds = append(ourRounds, round)
		if len(o.PeerCommand) > 0 {
			o.logf("round %d/%d: peer %s", r, o.Rounds, strings.Join(o.PeerCommand, " "))
			run, err := runPeer(ctx, &o)
			if err != nil {
				return nil, err
			}
			peerRuns = append(peerRuns, run)
		}
	}
	for _, t := range trainers {
		rep.Results = append(rep.Results, t.result())
	}
	setOverheads(rep.Results)
	if len(peerRuns) > 0 {
		rep.Peer = summarizePeer(&o, peerRuns, ourRounds, rep.Results)
	}
	if o.Micro {
		o.logf("copy bandwidth and norm kernels")
		if o.MeasureMicro != nil {
			copyGB, micro, err := o.MeasureMicro(ctx)
			if err != nil {
				return nil, err
			}
			rep.CopyGBPerSec, rep.Micro = copyGB, micro
		} else {
			rep.CopyGBPerSec = CopyGBPerSec(CopyBytesLarge, o.MicroMinTime)
			micro, err := MeasureMicro(ctx, o.MicroShapes, rep.CopyGBPerSec, o.MicroMinTime)
			if err != nil {
				return nil, err
			}
			rep.Micro = micro
		}
	}
	if o.Tap {
		o.logf("tap overhead")
		t := trainers[0]
		for _, c := range trainers {
			if c.spec.Norm == graph.NormBatch { // normtap train's default
				t = c
			}
		}
		tap, err := measureTap(ctx, t, 1000, 5)
		if err != nil {
			return nil, fmt.Errorf("tap overhead: %w", err)
		}
		rep.Tap = tap
	}
	return rep, nil
}

// cpuModel is the CPU's model name from /proc/cpuinfo ("" elsewhere).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
