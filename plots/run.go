package plots

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"normtap/graph"
	"normtap/rundir"
)

// Run is one run directory as the figures see it.
type Run struct {
	Dir    string
	Label  string            // its norm, made unique among the runs drawn together
	Config *rundir.RunConfig // its config.json
	Index  *rundir.Index     // nil when the run has no taps/index.json
}

// LoadRuns reads the config and tap index of each run directory and labels
// the runs by their norm ("none", "batch", …), adding the directory
// name where two runs share a norm.
func LoadRuns(dirs []string) ([]*Run, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no run directories")
	}
	runs := make([]*Run, len(dirs))
	infos := make([]os.FileInfo, len(dirs))
	for i, dir := range dirs {
		r, err := loadRun(dir)
		if err != nil {
			return nil, err
		}
		runs[i] = r
		if infos[i], err = os.Stat(dir); err != nil {
			return nil, fmt.Errorf("run dir: %w", err)
		}
		for j := range i {
			if os.SameFile(infos[i], infos[j]) {
				return nil, fmt.Errorf("run dir %s is given twice (also as %s); give each run once", dir, dirs[j])
			}
		}
	}
	labelRuns(runs)
	return runs, nil
}

func loadRun(dir string) (*Run, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("run dir %s does not exist", dir)
		}
		return nil, fmt.Errorf("run dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("run dir %s is not a directory", dir)
	}
	r := &Run{Dir: dir}
	if r.Config, err = rundir.ReadConfig(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("run dir %s has no %s: not a normtap run directory", dir, rundir.ConfigFile)
		}
		return nil, err
	}
	ix, err := rundir.ReadIndex(dir)
	switch {
	case err == nil:
		r.Index = ix
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return r, nil
}

func labelRuns(runs []*Run) {
	count := map[graph.Norm]int{}
	for _, r := range runs {
		count[r.Config.Config.Spec.Norm]++
	}
	for _, r := range runs {
		name := filepath.Base(filepath.Clean(r.Dir))
		norm := r.Config.Config.Spec.Norm
		switch {
		case !norm.Valid():
			r.Label = name
		case count[norm] > 1:
			r.Label = norm.String() + " (" + name + ")"
		default:
			r.Label = norm.String()
		}
	}
}

// Selection picks what to draw from the taps of the runs.
type Selection struct {
	Node       string // "": the only tapped node
	Neuron     int    // < 0: the first tapped column
	AllNeurons bool   // every tapped column, summarised (drift, percentiles); Neuron is then unused
	Epochs     []int  // nil: the figure's default
}

// Sample is the activations of one neuron over the tapped examples, at one
// point of training.
type Sample struct {
	Epoch, Step int
	Mode        rundir.TapMode
	Values      []float64
}

// resolve fills in the defaults of sel from the runs' taps: the only tapped
// node and the first tapped column of the first run.
func resolve(runs []*Run, sel Selection) (Selection, error) {
	if sel.Node == "" {
		var nodes []string
		for _, r := range runs {
			if r.Index != nil {
				nodes = append(nodes, r.Index.Nodes()...)
			}
		}
		slices.Sort(nodes)
		nodes = slices.Compact(nodes)
		switch len(nodes) {
		case 0:
			return sel, noTaps(runs[0])
		case 1:
			sel.Node = nodes[0]
		default:
			return sel, fmt.Errorf("the runs tap several nodes (%s): choose one with --node", strings.Join(nodes, ", "))
		}
	}
	for _, r := range runs {
		if r.Index == nil {
			return sel, noTaps(r)
		}
		if !slices.Contains(r.Index.Nodes(), sel.Node) {
			return sel, fmt.Errorf("run %s has no taps of node %s; it has %s", r.Dir, sel.Node, describeTaps(r.Index))
		}
	}
	if sel.Neuron < 0 {
		for _, e := range runs[0].Index.Entries {
			if e.Node == sel.Node {
				sel.Neuron = e.Neurons[0]
				break
			}
		}
	}
	return sel, nil
}

func noTaps(r *Run) error {
	index := filepath.Join(r.Dir, rundir.IndexFile)
	if r.Index != nil {
		return fmt.Errorf("run %s has no taps (%s lists none)", r.Dir, index)
	}
	return fmt.Errorf("run %s has no taps (no %s)", r.Dir, index)
}

// epochTaps returns r's epoch taps of node at the given epochs, or at the
// epochs chosen by pick from those tapped when epochs is nil.
func epochTaps(r *Run, node string, epochs []int, pick func(tapped []int) []int) ([]rundir.TapEntry, error) {
	all := r.Index.Select(node, rundir.KindEpoch)
	if len(all) == 0 {
		return nil, fmt.Errorf("run %s has no epoch taps of node %s; it has %s", r.Dir, node, describeTaps(r.Index))
	}
	tapped := make([]int, len(all))
	for i, e := range all {
		tapped[i] = e.Epoch
	}
	if epochs == nil {
		epochs = pick(tapped)
	}
	var out []rundir.TapEntry
	for _, ep := range epochs {
		i := slices.Index(tapped, ep)
		if i < 0 {
			return nil, fmt.Errorf("run %s has no tap of node %s at epoch %d; tapped epochs: %s", r.Dir, node, ep, formatInts(tapped))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// seedEpochs is the seed figure's choice: epochs 1, 10 and 30 where all
// three are tapped, else the first, middle and last tapped epochs.
func seedEpochs(tapped []int) []int {
	if len(tapped) >= 3 && slices.Contains(tapped, 1) && slices.Contains(tapped, 10) && slices.Contains(tapped, 30) {
		return []int{1, 10, 30}
	}
	picks := []int{tapped[0], tapped[(len(tapped)-1)/2], tapped[len(tapped)-1]}
	return slices.Compact(picks)
}

func allEpochs(tapped []int) []int { return tapped }

// loadSamples reads neuron's column from each tap.
func loadSamples(r *Run, entries []rundir.TapEntry, neuron int) ([]Sample, error) {
	out := make([]Sample, len(entries))
	for i, e := range entries {
		col := slices.Index(e.Neurons, neuron)
		if col < 0 {
			return nil, fmt.Errorf("run %s: %s holds neurons %s of node %s, not neuron %d", r.Dir, e.File, formatInts(e.Neurons), e.Node, neuron)
		}
		data, examples, neurons, err := rundir.ReadTap(r.Dir, e)
		if err != nil {
			return nil, err
		}
		values := make([]float64, examples)
		for j := range values {
			v := float64(data[j*neurons+col])
			if !isFinite(v) {
				return nil, fmt.Errorf("run %s: %s has a non-finite value (%v) in neuron %d, example %d", r.Dir, e.File, v, neuron, j)
			}
			values[j] = v
		}
		out[i] = Sample{Epoch: e.Epoch, Step: e.Step, Mode: e.Mode, Values: values}
	}
	return out, nil
}

// tapColumns reads every column of one tap: the node's neuron indices it
// holds and, for each, its values over the tapped examples. A non-finite
// value is an error naming the file, neuron and example.
func tapColumns(r *Run, e rundir.TapEntry) ([][]float64, error) {
	data, examples, neurons, err := rundir.ReadTap(r.Dir, e)
	if err != nil {
		return nil, err
	}
	cols := make([][]float64, neurons)
	for c := range cols {
		cols[c] = make([]float64, examples)
	}
	for j := range examples {
		for c := range neurons {
			v := float64(data[j*neurons+c])
			if !isFinite(v) {
				return nil, fmt.Errorf("run %s: %s has a non-finite value (%v) in neuron %d, example %d", r.Dir, e.File, v, e.Neurons[c], j)
			}
			cols[c][j] = v
		}
	}
	return cols, nil
}

// commonNeurons are the neurons every one of entries holds, in the first
// entry's order: what --neuron all summarises.
func commonNeurons(r *Run, entries []rundir.TapEntry) ([]int, error) {
	var out []int
	for _, n := range entries[0].Neurons {
		all := true
		for _, e := range entries[1:] {
			all = all && slices.Contains(e.Neurons, n)
		}
		if all {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("run %s: no neuron of node %s is in every tap drawn", r.Dir, entries[0].Node)
	}
	return out, nil
}

// describeTaps lists what a run tapped, node by node, for error messages:
// "h1.act (epochs 1-30; steps 100-3000, 30 taps), h2.act (epochs 1,10,30)".
func describeTaps(ix *rundir.Index) string {
	var parts []string
	for _, node := range ix.Nodes() {
		var what []string
		if es := ix.Select(node, rundir.KindEpoch); len(es) > 0 {
			epochs := make([]int, len(es))
			for i, e := range es {
				epochs[i] = e.Epoch
			}
			what = append(what, "epochs "+formatInts(epochs))
		}
		if ss := ix.Select(node, rundir.KindStep); len(ss) > 0 {
			what = append(what, fmt.Sprintf("steps %d-%d, %d taps", ss[0].Step, ss[len(ss)-1].Step, len(ss)))
		}
		parts = append(parts, node+" ("+strings.Join(what, "; ")+")")
	}
	if len(parts) == 0 {
		return "no taps"
	}
	return "taps of " + strings.Join(parts, ", ")
}

// formatInts writes sorted ints compactly, runs of consecutive values as
// ranges: "1-5,10,30".
func formatInts(v []int) string {
	v = slices.Clone(v)
	slices.Sort(v)
	v = slices.Compact(v)
	var parts []string
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(v[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(v[i]), strconv.Itoa(v[j]))
		default:
			parts = append(parts, strconv.Itoa(v[i])+"-"+strconv.Itoa(v[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// maxEpochRange bounds the epochs one range a-b of an epoch list names.
const maxEpochRange = 100000

// ParseEpochs parses an epoch list such as "1,10,30" or "1-5,10".
func ParseEpochs(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 {
			return nil, fmt.Errorf("epoch list %q: %q is not an epoch (a positive integer) or a range a-b", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("epoch list %q: %q is not a range a-b with a ≤ b", s, part)
			}
			if b-a >= maxEpochRange {
				return nil, fmt.Errorf("epoch list %q: range %q spans %d epochs; at most %d", s, part, b-a+1, maxEpochRange)
			}
		}
		for ep := a; ep <= b; ep++ {
			out = append(out, ep)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// unitOf names what a column of node's taps is in runs: "channel" when
// every tap of node is a channel tap (rows are example × position),
// else "neuron".
func unitOf(runs []*Run, node string) string {
	channel := false
	for _, r := range runs {
		if r.Index == nil {
			continue
		}
		for _, e := range r.Index.Entries {
			if e.Node != node {
				continue
			}
			if e.Unit != rundir.UnitChannel {
				return "neuron"
			}
			channel = true
		}
	}
	if channel {
		return "channel"
	}
	return "neuron"
}
