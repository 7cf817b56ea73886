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

// progress is where a run stands: enough to continue it exactly.
type progress struct {
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
func saveCheckpoint(dir string, pr progress, perm []int32, mach graph.Machine) error {
	if err := mach.SyncParams(); err != nil {
		return err
	}
	_, st := mach.Opt()
	names, data := tensorsOf(mach.Model(), st)
	pr.Tensors, pr.OptStep = names, st.Step
	pr.NoiseDraws = nil
	for _, l := range mach.Model().Noise {
		pr.NoiseDraws = append(pr.NoiseDraws, l.State.Draws)
	}
	head, err := json.Marshal(pr)
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

// loadCheckpoint reads a checkpoint into mach's model and optimizer state
// and returns the progress and data order it holds.
func loadCheckpoint(dir string, mach graph.Machine) (progress, []int32, error) {
	path := filepath.Join(dir, rundir.CheckpointDir, checkpointFile)
	var pr progress
	f, err := os.Open(path)
	if err != nil {
		return pr, nil, fmt.Errorf("resume: %w (no checkpoint to resume from)", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	bad := func(what string) error {
		return fmt.Errorf("resume: %s: %s; the checkpoint is damaged, start a new run with another --out", path, what)
	}
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r, magic); err != nil || !bytes.Equal(magic, checkpointMagic) {
		return pr, nil, bad("not a normtap checkpoint")
	}
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<26 {
		return pr, nil, bad("bad header length")
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(r, head); err != nil {
		return pr, nil, bad("truncated header")
	}
	if err := json.Unmarshal(head, &pr); err != nil {
		return pr, nil, bad("header: " + err.Error())
	}
	_, st := mach.Opt()
	names, data := tensorsOf(mach.Model(), st)
	if len(names) != len(pr.Tensors) {
		return pr, nil, fmt.Errorf("resume: %s holds %d tensors, this model has %d: was it made with other model flags?", path, len(pr.Tensors), len(names))
	}
	for i, e := range pr.Tensors {
		if e != names[i] {
			return pr, nil, fmt.Errorf("resume: %s holds %s[%d] where this model has %s[%d]: was it made with other model flags?", path, e.Name, e.Len, names[i].Name, names[i].Len)
		}
		if err := binary.Read(r, binary.LittleEndian, data[i]); err != nil {
			return pr, nil, bad("truncated tensor " + e.Name)
		}
	}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<28 {
		return pr, nil, bad("bad data-order length")
	}
	perm := make([]int32, n)
	if err := binary.Read(r, binary.LittleEndian, perm); err != nil {
		return pr, nil, bad("truncated data order")
	}
	for _, v := range data {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return pr, nil, bad("non-finite values")
			}
		}
	}
	st.Step = pr.OptStep
	noise := mach.Model().Noise
	if len(pr.NoiseDraws) != len(noise) {
		return pr, nil, fmt.Errorf("resume: %s holds the noise of %d layers, this model has %d: was it made with other model flags?", path, len(pr.NoiseDraws), len(noise))
	}
	for i, l := range noise {
		l.State.Draws = pr.NoiseDraws[i]
	}
	if err := mach.LoadParams(); err != nil {
		return pr, nil, err
	}
	return pr, perm, nil
}
