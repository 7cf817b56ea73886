package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"normtap/graph"
	"normtap/rundir"
)

// checkpointFile holds the whole checkpoint in one file, so that replacing
// it atomically replaces everything at once.
const checkpointFile = "state.bin"

// The checkpoint format: magic, header length (uint64), the JSON header
// (runState), the tensors (float32), the data order's length (uint64) and
// the order (int32), all little-endian; format 2 ends with the CRC-32C of
// everything before it. Format 1 (no checksum, no config) is still read.
var (
	checkpointMagic   = []byte("NORMTAPCK2\n")
	checkpointMagicV1 = []byte("NORMTAPCK1\n")
	crcTable          = crc32.MakeTable(crc32.Castagnoli)
)

// runState is where a run stands: what a checkpoint saves, enough to
// continue the run exactly. (The progress bar is progressReporter.)
type runState struct {
	Epoch      int               `json:"epoch"`       // epochs completed
	Step       int               `json:"step"`        // optimizer steps completed
	Pos        int               `json:"pos"`         // batches done in the current epoch
	ShuffleRNG []byte            `json:"shuffle_rng"` // state after drawing the current epoch's order
	EpochLoss  float64           `json:"epoch_loss"`  // Σ batch loss this epoch
	EpochRight int               `json:"epoch_right"` // Σ correct this epoch
	EpochTimeS float64           `json:"epoch_time_s"`
	WallS      float64           `json:"wall_s"`
	Metrics    []rundir.Metrics  `json:"metrics"`
	OptStep    int64             `json:"opt_step"`
	Tensors    []checkpointEntry `json:"tensors"`
	NoiseDraws []uint64          `json:"noise_draws,omitempty"` // per norm-noise layer: its NoiseState.Draws
	Config     Config            `json:"config"`                // the run's whole job: a checkpoint belongs to its run
	// EndPending: the epoch's steps are done (and its batch-mode taps
	// written) but not its end: evaluation, probe taps, metrics row.
	EndPending bool `json:"end_pending,omitempty"`
}

type checkpointEntry struct {
	Name string `json:"name"`
	Len  int    `json:"len"`
}

// tensorsOf lists what the checkpoint stores besides progress: parameters,
// BatchNorm running statistics and optimizer slots, in a fixed order.
func tensorsOf(m *graph.Model, st *graph.OptState) ([]checkpointEntry, [][]float32) {
	var names []checkpointEntry
	var data [][]float32
	add := func(name string, v []float32) {
		names = append(names, checkpointEntry{name, len(v)})
		data = append(data, v)
	}
	for _, p := range m.Params {
		add("param/"+p.Name, p.Value)
	}
	for _, l := range m.BN {
		add("bn/"+l.Name+".running_mean", l.State.RunningMean)
		add("bn/"+l.Name+".running_var", l.State.RunningVar)
	}
	for i, s := range st.Slots {
		add(fmt.Sprintf("opt/%d", i), s)
	}
	return names, data
}

// saveCheckpoint writes dir/checkpoint/state.bin atomically.
func saveCheckpoint(dir string, st runState, perm []int32, mach graph.Machine) error {
	if err := mach.SyncParams(); err != nil {
		return err
	}
	_, opt := mach.Opt()
	names, data := tensorsOf(mach.Model(), opt)
	st.Tensors, st.OptStep = names, opt.Step
	st.NoiseDraws = nil
	for _, l := range mach.Model().Noise {
		st.NoiseDraws = append(st.NoiseDraws, l.State.Draws)
	}
	head, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	var b bytes.Buffer
	b.Write(checkpointMagic)
	binary.Write(&b, binary.LittleEndian, uint64(len(head)))
	b.Write(head)
	for _, v := range data {
		binary.Write(&b, binary.LittleEndian, v)
	}
	binary.Write(&b, binary.LittleEndian, uint64(len(perm)))
	binary.Write(&b, binary.LittleEndian, perm)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crcTable))
	// Mkdir, not MkdirAll: a run directory removed under the run is not
	// made again here
	cdir := filepath.Join(dir, rundir.CheckpointDir)
	if err := os.Mkdir(cdir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := rundir.AtomicWriteFile(filepath.Join(cdir, checkpointFile), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// checkpoint is a decoded state.bin: the run's state, its tensors in the
// order of runState.Tensors, and the current epoch's data order.
type checkpoint struct {
	path    string
	format  int // 1 or 2
	state   runState
	tensors [][]float32
	perm    []int32
}

// loadCheckpoint reads dir's checkpoint, checks it against the run (its
// config, the training set of nTrain examples, the epoch length) and
// restores it into mach's model and optimizer state. It returns the run
// state and data order it holds.
func (r *runner) loadCheckpoint() (runState, []int32, error) {
	ck, err := decodeCheckpoint(filepath.Join(r.cfg.Out, rundir.CheckpointDir, checkpointFile))
	if err != nil {
		return runState{}, nil, err
	}
	if err := ck.check(r.cfg, r.train.N, r.batchesPerEpoch()); err != nil {
		return runState{}, nil, err
	}
	if err := ck.restore(r.mach); err != nil {
		return runState{}, nil, err
	}
	return ck.state, ck.perm, nil
}

// damaged is the error for a checkpoint that cannot be trusted.
func damaged(path, what string) error {
	return fmt.Errorf("resume: %s: %s; the checkpoint is damaged: start the run again (without --resume) in an empty --out", path, what)
}

// decodeCheckpoint reads and checks the file at path on its own, without a
// model: its format, checksum, lengths and values.
func decodeCheckpoint(path string) (*checkpoint, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w (no checkpoint to resume from)", err)
	}
	bad := func(what string) error { return damaged(path, what) }
	ck := &checkpoint{path: path}
	switch {
	case bytes.HasPrefix(raw, checkpointMagic):
		ck.format = 2
		if len(raw) < len(checkpointMagic)+4 {
			return nil, bad("truncated")
		}
		body, sum := raw[:len(raw)-4], binary.LittleEndian.Uint32(raw[len(raw)-4:])
		if crc32.Checksum(body, crcTable) != sum {
			return nil, bad("its checksum does not match its contents (changed, truncated or corrupted on disk)")
		}
		raw = body
	case bytes.HasPrefix(raw, checkpointMagicV1):
		ck.format = 1
	default:
		return nil, bad("not a normtap checkpoint")
	}
	r := bytes.NewReader(raw[len(checkpointMagic):])
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > uint64(r.Len()) {
		return nil, bad("bad header length")
	}
	head := make([]byte, n)
	r.Read(head)
	if err := json.Unmarshal(head, &ck.state); err != nil {
		return nil, bad("header: " + err.Error())
	}
	for _, e := range ck.state.Tensors {
		if e.Len < 0 || int64(e.Len)*4 > int64(r.Len()) {
			return nil, bad(fmt.Sprintf("tensor %s of length %d does not fit in the file", e.Name, e.Len))
		}
		v := make([]float32, e.Len)
		binary.Read(r, binary.LittleEndian, v)
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, bad("non-finite values in " + e.Name)
			}
		}
		ck.tensors = append(ck.tensors, v)
	}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n != uint64(r.Len()/4) || r.Len()%4 != 0 {
		return nil, bad("bad data-order length")
	}
	ck.perm = make([]int32, n)
	binary.Read(r, binary.LittleEndian, ck.perm)
	return ck, nil
}

// check range-checks every header field against the run: its config, a
// training set of nTrain examples and nb batches per epoch. Whatever
// passes can be restored without an index out of range or wrong metrics.
func (ck *checkpoint) check(cfg Config, nTrain, nb int) error {
	st := &ck.state
	bad := func(format string, args ...any) error {
		return fmt.Errorf("resume: %s: %s; the checkpoint is damaged or from another run: start the run again (without --resume) in an empty --out", ck.path, fmt.Sprintf(format, args...))
	}
	if ck.format >= 2 {
		if diffs := rundir.Diff(st.Config, cfg); len(diffs) > 0 {
			parts := make([]string, len(diffs))
			for i, d := range diffs {
				parts[i] = fmt.Sprintf("%s: %s in the checkpoint, %s now", d.Field, d.Was, d.Now)
			}
			return fmt.Errorf("resume: %s belongs to another run (%s); was it copied from another run directory?", ck.path, strings.Join(parts, "; "))
		}
	}
	switch {
	case st.Epoch < 0 || st.Epoch > cfg.Epochs:
		return bad("epoch %d, want 0 to --epochs %d", st.Epoch, cfg.Epochs)
	case st.EndPending && st.Epoch >= cfg.Epochs:
		return bad("the end of epoch %d pending, beyond --epochs %d", st.Epoch+1, cfg.Epochs)
	case st.Pos < 0 || st.Pos > nb:
		return bad("position %d in the epoch, want 0 to %d batches", st.Pos, nb)
	case st.Step != st.Epoch*nb+st.Pos && !(cfg.MaxSteps > 0 && st.Step == cfg.MaxSteps && st.Step <= st.Epoch*nb+st.Pos):
		return bad("step %d does not follow from epoch %d and position %d at %d batches per epoch", st.Step, st.Epoch, st.Pos, nb)
	case st.OptStep != int64(st.Step):
		return bad("optimizer step %d at step %d", st.OptStep, st.Step)
	case len(st.Metrics) != st.Epoch:
		return bad("%d metrics rows after %d epochs", len(st.Metrics), st.Epoch)
	case st.EpochRight < 0 || st.EpochRight > nb*cfg.Batch:
		return bad("%d right answers in an epoch of %d batches of %d", st.EpochRight, nb, cfg.Batch)
	case !finiteAtLeast0(st.EpochLoss, st.EpochTimeS, st.WallS):
		return bad("epoch loss %v, epoch time %v s, wall time %v s", st.EpochLoss, st.EpochTimeS, st.WallS)
	case len(ck.perm) != nTrain:
		return bad("a data order of %d examples, the training set has %d", len(ck.perm), nTrain)
	}
	for i, m := range st.Metrics {
		if m.Epoch != i+1 || m.Step < 0 || m.Step > st.Step || !finiteAtLeast0(m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, m.WallS, m.ExamplesPerS) || m.TrainAcc > 1 || m.TestAcc > 1 {
			return bad("metrics row %d (%+v)", i+1, m)
		}
	}
	seen := make([]bool, nTrain)
	for _, k := range ck.perm {
		if k < 0 || int(k) >= nTrain || seen[k] {
			return bad("the data order is not an order of the %d training examples", nTrain)
		}
		seen[k] = true
	}
	if err := rand.NewPCG(0, 0).UnmarshalBinary(st.ShuffleRNG); err != nil {
		return bad("shuffle state: %v", err)
	}
	return nil
}

// finiteAtLeast0 reports whether every v is a finite number ≥ 0.
func finiteAtLeast0(v ...float64) bool {
	for _, x := range v {
		if !(x >= 0) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// restore checks that ck fits mach's model and copies it in: parameters,
// BatchNorm statistics, optimizer slots and step, noise draws.
func (ck *checkpoint) restore(mach graph.Machine) error {
	path, st := ck.path, &ck.state
	_, opt := mach.Opt()
	names, data := tensorsOf(mach.Model(), opt)
	if len(names) != len(st.Tensors) {
		return fmt.Errorf("resume: %s holds %d tensors, this model has %d: was it made with other model flags?", path, len(st.Tensors), len(names))
	}
	for i, e := range st.Tensors {
		if e != names[i] {
			return fmt.Errorf("resume: %s holds %s[%d] where this model has %s[%d]: was it made with other model flags?", path, e.Name, e.Len, names[i].Name, names[i].Len)
		}
	}
	noise := mach.Model().Noise
	if len(st.NoiseDraws) != len(noise) {
		return fmt.Errorf("resume: %s holds the noise of %d layers, this model has %d: was it made with other model flags?", path, len(st.NoiseDraws), len(noise))
	}
	for i, v := range ck.tensors {
		copy(data[i], v)
	}
	opt.Step = st.OptStep
	for i, l := range noise {
		l.State.Draws = st.NoiseDraws[i]
	}
	return mach.LoadParams()
}
