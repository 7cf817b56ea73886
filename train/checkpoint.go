package train

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"normtap/graph"
	"normtap/rundir"
)

// checkpointFile holds the whole checkpoint in one file, so that replacing
// it atomically replaces everything at once.
const checkpointFile = "state.bin"

var checkpointMagic = []byte("NORMTAPCK1\n")

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
	Config     Config            `json:"config"`
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
		return err
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
	cdir := filepath.Join(dir, rundir.CheckpointDir)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
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
	state   runState
	tensors [][]float32
	perm    []int32
}

// loadCheckpoint reads dir's checkpoint into mach's model and optimizer
// state and returns the run state and data order it holds.
func loadCheckpoint(dir string, mach graph.Machine) (runState, []int32, error) {
	ck, err := decodeCheckpoint(filepath.Join(dir, rundir.CheckpointDir, checkpointFile))
	if err != nil {
		return runState{}, nil, err
	}
	if err := ck.restore(mach); err != nil {
		return runState{}, nil, err
	}
	return ck.state, ck.perm, nil
}

// damaged is the error for a checkpoint that cannot be trusted.
func damaged(path, what string) error {
	return fmt.Errorf("resume: %s: %s; the checkpoint is damaged, start a new run with another --out", path, what)
}

// decodeCheckpoint reads and checks the file at path on its own, without a
// model: its format, lengths and values.
func decodeCheckpoint(path string) (*checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w (no checkpoint to resume from)", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	bad := func(what string) error { return damaged(path, what) }
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r, magic); err != nil || !bytes.Equal(magic, checkpointMagic) {
		return nil, bad("not a normtap checkpoint")
	}
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<26 {
		return nil, bad("bad header length")
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, bad("truncated header")
	}
	ck := &checkpoint{path: path}
	if err := json.Unmarshal(head, &ck.state); err != nil {
		return nil, bad("header: " + err.Error())
	}
	for _, e := range ck.state.Tensors {
		if e.Len < 0 || e.Len > 1<<30 {
			return nil, bad(fmt.Sprintf("tensor %s of length %d", e.Name, e.Len))
		}
		v := make([]float32, e.Len)
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return nil, bad("truncated tensor " + e.Name)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, bad("non-finite values in " + e.Name)
			}
		}
		ck.tensors = append(ck.tensors, v)
	}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<28 {
		return nil, bad("bad data-order length")
	}
	ck.perm = make([]int32, n)
	if err := binary.Read(r, binary.LittleEndian, ck.perm); err != nil {
		return nil, bad("truncated data order")
	}
	return ck, nil
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
