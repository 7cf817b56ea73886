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
	// MeasureGemm, when set, times the model's GEMM shapes alone for the
	// roofline (CPUGemmSeconds on the CPU); without it the report has the
	// FLOP count and GFLOP/s but no roofline.
	MeasureGemm MeasureGemm
	// Tap: also time tapping one neuron per epoch.
	Tap bool
	// PeerCommand, when set, is run after each round with peer.py's flags
	// added (its argv: e.g. python3 bench/peer/peer.py); PeerDevice is its
	// --device and PeerThreads its --threads (0: Threads).
	PeerCommand []string
	PeerDevice  string
	PeerThreads int
	PeerTimeout time.Duration // one peer run's limit; 0: DefaultPeerTimeout
	Machine     MachineInfo   // filled in by the caller: BLAS, device description
	Command     string        // the command line, for the record
	Log         io.Writer     // progress lines; nil for none
}

// MachineInfo says what the numbers were measured on.
type MachineInfo struct {
	NProc             int    `json:"nproc"`
	CPUModel          string `json:"cpu_model"`
	GOMAXPROCS        int    `json:"gomaxprocs"`
	Go                string `json:"go"`
	BLAS              string `json:"blas"`
	BLASKernel        string `json:"blas_kernel,omitempty"` // the OpenBLAS kernel (openblas_get_corename)
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
	// Roofline is the BLAS's limit at the model's GEMM shapes.
	Roofline *Roofline `json:"roofline,omitempty"`
	// CopyGBPerSec is this machine's single-core copy bandwidth from and to
	// main memory (CopyGBPerSec(CopyBytesLarge)).
	CopyGBPerSec float64      `json:"copy_gb_per_sec"`
	Micro        []Micro      `json:"micro,omitempty"`
	Tap          *TapOverhead `json:"tap_overhead,omitempty"`
}

// Bounds of the size-like options: beyond them a benchmark is a mistake
// (100000 threads crash the Go runtime; a million steps take hours).
const (
	MaxBatch   = 1 << 16
	MaxSteps   = 1_000_000
	MaxRounds  = 1000
	MaxThreads = 1024
)

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
	case o.Batch < 1 || o.Batch > MaxBatch:
		return fmt.Errorf("--batch %d: must be between 1 and %d", o.Batch, MaxBatch)
	case o.Steps < 1 || o.Steps > MaxSteps:
		return fmt.Errorf("--steps %d: must be between 1 and %d", o.Steps, MaxSteps)
	case o.Warmup < 0 || o.Warmup > MaxSteps:
		return fmt.Errorf("--warmup %d: must be between 0 and %d", o.Warmup, MaxSteps)
	case o.Rounds < 1 || o.Rounds > MaxRounds:
		return fmt.Errorf("--rounds %d: must be between 1 and %d", o.Rounds, MaxRounds)
	case o.Threads < 0 || o.Threads > MaxThreads:
		return fmt.Errorf("--threads %d: must be between 0 (every CPU) and %d", o.Threads, MaxThreads)
	case o.PeerThreads < 0 || o.PeerThreads > MaxThreads:
		return fmt.Errorf("--peer-threads %d: must be between 0 (--threads) and %d", o.PeerThreads, MaxThreads)
	case o.PeerTimeout < 0:
		return fmt.Errorf("--peer-timeout %v: must be ≥ 0 (0: %v)", o.PeerTimeout, DefaultPeerTimeout)
	}
	if err := CheckModelSize(o.Spec, o.Batch); err != nil {
		return err
	}
	return o.Opt.Validate()
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "normtap bench: "+format+"\n", args...)
	}
}

// Run measures every configuration in Rounds rounds, alternating between
// configurations, in an order rotated by one each round (and the peer,
// after each round of normtap's), then the
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
	var roofRounds []*Roofline // one per round, measured between the rounds' steps
	for r := 1; r <= o.Rounds; r++ {
		round := map[graph.Norm]float64{}
		// Each round starts one configuration later: on a shared machine
		// the one run first after the peer (or the roofline) was the
		// slowest in every round, and rotating spreads that over all.
		for k := range trainers {
			t := trainers[(k+r-1)%len(trainers)]
			o.logf("round %d/%d: %s, %d warm-up and %d timed steps", r, o.Rounds, t.spec.Norm, o.Warmup, o.Steps)
			before := len(t.stepMs)
			if err := t.round(ctx, o.Warmup, o.Steps); err != nil {
				return nil, fmt.Errorf("bench %s: %w", t.spec.Norm, err)
			}
			round[t.spec.Norm] = median(t.stepMs[before:])
		}
		ourRounds = append(ourRounds, round)
		if o.MeasureGemm != nil {
			o.logf("round %d/%d: the model's GEMM shapes alone (roofline)", r, o.Rounds)
			rf, err := measureRoofline(ctx, trainers[0].model, o.MeasureGemm, o.MicroMinTime)
			if err != nil {
				return nil, fmt.Errorf("roofline: %w", err)
			}
			roofRounds = append(roofRounds, rf)
		}
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
	setOverheads(rep.Results, ourRounds)
	rep.Roofline = summarizeRoofline(roofRounds)
	setRoofline(rep.Results, float64(trainers[0].model.StepFLOP())/float64(o.Batch), roofRounds, ourRounds)
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
