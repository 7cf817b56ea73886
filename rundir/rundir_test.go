package rundir

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"normtap/graph"
)

func entry(node string, kind TapKind, epoch, step, examples int, neurons ...int) TapEntry {
	return TapEntry{Node: node, Kind: kind, Epoch: epoch, Step: step, Mode: ModeProbe, Examples: examples, Neurons: neurons}
}

// ramp returns n distinct, non-integer values.
func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*0.25 - 1.5
	}
	return v
}

func TestTapFileNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{EpochTapFile("h2.act", 1), "taps/h2.act/epoch-0001.npy"},
		{EpochTapFile("h2.act", 30), "taps/h2.act/epoch-0030.npy"},
		{StepTapFile("h3.norm", 100), "taps/h3.norm/step-000100.npy"},
		{StepTapFile("h3.norm", 50000), "taps/h3.norm/step-050000.npy"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNpyRoundTripAndHeader(t *testing.T) {
	dir := t.TempDir()
	e := entry("h2.act", KindEpoch, 3, 1400, 4, 7, 2, 9)
	data := ramp(4 * 3)
	if err := WriteTap(dir, e, data); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "taps/h2.act/epoch-0003.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\x93NUMPY")) {
		t.Fatalf("no npy magic: %q", raw[:8])
	}
	// Header: version, length, then a Python dict literal padded to 16 bytes.
	var hlen, start int
	switch raw[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(raw[8:])), 10
	case 2, 3:
		hlen, start = int(binary.LittleEndian.Uint32(raw[8:])), 12
	default:
		t.Fatalf("npy version %d", raw[6])
	}
	if (start+hlen)%16 != 0 {
		t.Errorf("header ends at %d, not 16-byte aligned", start+hlen)
	}
	header := string(raw[start : start+hlen])
	for _, want := range []string{"'descr': '<f4'", "'fortran_order': False", "'shape': (4, 3)"} {
		if !strings.Contains(header, want) {
			t.Errorf("header %q lacks %q", header, want)
		}
	}
	body := raw[start+hlen:]
	if len(body) != 4*len(data) {
		t.Fatalf("body %d bytes, want %d", len(body), 4*len(data))
	}
	for i, v := range data {
		if got := binary.LittleEndian.Uint32(body[4*i:]); got != math.Float32bits(v) {
			t.Fatalf("value %d: bits %#x, want %#x (row-major little-endian)", i, got, math.Float32bits(v))
		}
	}

	ix, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Entries) != 1 || ix.Entries[0].File != "taps/h2.act/epoch-0003.npy" {
		t.Fatalf("index %+v", ix)
	}
	got, examples, neurons, err := ReadTap(dir, ix.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if examples != 4 || neurons != 3 || !reflect.DeepEqual(got, data) {
		t.Fatalf("ReadTap: %d×%d %v, want 4×3 %v", examples, neurons, got, data)
	}
}

func TestNpyReadableByNumpy(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3 with numpy not available")
	}
	dir := t.TempDir()
	data := ramp(5 * 2)
	if err := WriteTap(dir, entry("logits", KindStep, 1, 200, 5, 0, 3), data); err != nil {
		t.Fatal(err)
	}
	script := `import numpy, sys
a = numpy.load(sys.argv[1])
assert a.dtype == numpy.dtype('<f4'), a.dtype
assert a.shape == (5, 2), a.shape
assert a.flags['C_CONTIGUOUS']
want = numpy.arange(10, dtype=numpy.float32).reshape(5, 2) * 0.25 - 1.5
assert (a == want).all(), a
`
	out, err := exec.Command(python, "-c", script, filepath.Join(dir, StepTapFile("logits", 200))).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load: %v\n%s", err, out)
	}
}

func TestIndexReplaceAndAppend(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenTapWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	must := func(e TapEntry, data []float32) {
		t.Helper()
		if err := w.Write(e, data); err != nil {
			t.Fatal(err)
		}
	}
	must(entry("h2.act", KindEpoch, 2, 200, 2, 0), []float32{1, 2})
	must(entry("h2.act", KindEpoch, 1, 100, 2, 0), []float32{3, 4})
	must(entry("h1.act", KindStep, 1, 50, 1, 0, 1), []float32{5, 6})
	must(entry("h2.act", KindStep, 1, 50, 1, 0), []float32{7})
	// Same node, kind and epoch: replaces, with new data and shape.
	must(entry("h2.act", KindEpoch, 2, 200, 3, 0), []float32{8, 9, 10})

	ix, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ix.Entries {
		got = append(got, e.File)
	}
	want := []string{"taps/h1.act/step-000050.npy", "taps/h2.act/epoch-0001.npy", "taps/h2.act/epoch-0002.npy", "taps/h2.act/step-000050.npy"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("index files %v, want %v", got, want)
	}
	if mem := w.Index(); !reflect.DeepEqual(mem.Entries, ix.Entries) {
		t.Errorf("in-memory index %+v differs from disk %+v", mem.Entries, ix.Entries)
	}
	data, n, _, err := ReadTap(dir, ix.Entries[2])
	if err != nil || n != 3 || !reflect.DeepEqual(data, []float32{8, 9, 10}) {
		t.Fatalf("replaced tap: %v %d %v", data, n, err)
	}
	if nodes := ix.Nodes(); !reflect.DeepEqual(nodes, []string{"h1.act", "h2.act"}) {
		t.Errorf("Nodes() = %v", nodes)
	}
	if sel := ix.Select("h2.act", KindEpoch); len(sel) != 2 || sel[0].Epoch != 1 || sel[1].Epoch != 2 {
		t.Errorf("Select = %+v", sel)
	}

	// A new writer (a resumed run) starts from the index on disk.
	w2, err := OpenTapWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Write(entry("h2.act", KindEpoch, 3, 300, 1, 0), []float32{1}); err != nil {
		t.Fatal(err)
	}
	if ix, _ := ReadIndex(dir); len(ix.Entries) != 5 {
		t.Errorf("after resume: %d entries, want 5", len(ix.Entries))
	}
}

func TestWriteTapRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		e    TapEntry
		data []float32
		want string
	}{
		{"short data", entry("h1.act", KindEpoch, 1, 0, 2, 0, 1), []float32{1, 2, 3}, "3 values, want 2 examples × 2 neurons"},
		{"no kind", entry("h1.act", 0, 1, 0, 1, 0), []float32{1}, "no tap kind"},
		{"bad node", entry("../x", KindEpoch, 1, 0, 1, 0), []float32{1}, `bad node name "../x"`},
		{"epoch 0", entry("h1.act", KindEpoch, 0, 0, 1, 0), []float32{1}, "epoch 0"},
		{"no neurons", entry("h1.act", KindEpoch, 1, 0, 1), nil, "0 neurons"},
		{"no mode", TapEntry{Node: "h1.act", Kind: KindEpoch, Epoch: 1, Examples: 1, Neurons: []int{0}}, []float32{1}, "no tap mode"},
		{"wrong file", TapEntry{Node: "h1.act", Kind: KindEpoch, Epoch: 1, Mode: ModeProbe, Examples: 1, Neurons: []int{0}, File: "x.npy"}, []float32{1}, `file "x.npy"`},
	} {
		err := WriteTap(dir, tc.e, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestIndexNames: kinds and modes are written by name, and an index naming
// an unknown one is refused with the name and the file.
func TestIndexNames(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTap(dir, entry("h1.act", KindStep, 1, 7, 1, 0), []float32{1}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"kind": "step"`)) || !bytes.Contains(raw, []byte(`"mode": "probe"`)) {
		t.Fatalf("index does not name kind and mode:\n%s", raw)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`"kind": "step"`, `"kind": "batch"`, `kind "batch"`},
		{`"mode": "probe"`, `"mode": "train"`, `mode "train"`},
	} {
		os.WriteFile(filepath.Join(dir, IndexFile), bytes.Replace(raw, []byte(tc.from), []byte(tc.to), 1), 0o644)
		_, err := ReadIndex(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), IndexFile) {
			t.Errorf("index with %s: %v, want an error naming %q and the file", tc.to, err, tc.want)
		}
	}
}

func TestReadTapErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	e := entry("h1.act", KindEpoch, 1, 10, 3, 0, 1)
	if err := WriteTap(dir, e, ramp(6)); err != nil {
		t.Fatal(err)
	}
	e.File = EpochTapFile("h1.act", 1)
	path := filepath.Join(dir, e.File)

	wrongShape := e
	wrongShape.Examples = 4
	if _, _, _, err := ReadTap(dir, wrongShape); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("shape mismatch: %v, want error naming %s", err, path)
	}

	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-4], 0o644)
	if _, _, _, err := ReadTap(dir, e); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: %v, want error naming %s", err, path)
	}
	os.WriteFile(path, []byte("not npy"), 0o644)
	if _, _, _, err := ReadTap(dir, e); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("garbage file: %v, want error naming %s", err, path)
	}
	os.Remove(path)
	if _, _, _, err := ReadTap(dir, e); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: %v, want error naming %s", err, path)
	}
	os.WriteFile(filepath.Join(dir, IndexFile), []byte("{"), 0o644)
	if _, err := ReadIndex(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, IndexFile)) {
		t.Errorf("bad index: %v, want error naming it", err)
	}
}

func TestMetricsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rows := []Metrics{
		{Epoch: 1, Step: 469, TrainLoss: 0.3125, TrainAcc: 0.91, TestLoss: 0.1 / 3, TestAcc: 0.9712, WallS: 12.5, ExamplesPerS: 4800.25},
		{Epoch: 2, Step: 938, TrainLoss: 1e-7, TrainAcc: 1, TestLoss: 0.07, TestAcc: 0.98, WallS: 25, ExamplesPerS: 4790},
	}
	if err := WriteMetrics(dir, rows); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	if first, _, _ := strings.Cut(string(raw), "\n"); first != "epoch,step,train_loss,train_acc,test_loss,test_acc,wall_s,examples_per_s" {
		t.Errorf("header line %q", first)
	}
	got, err := ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("got %+v\nwant %+v", got, rows)
	}
}

func TestReadMetricsErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetricsFile)
	header := strings.Join(MetricsHeader, ",") + "\n"
	for _, tc := range []struct{ content, want string }{
		{header + "1,10,0.5,0.9,0.4,0.9,1,100\n2,20,0.5,x,0.4,0.9,1,100\n", path + ":3: column train_acc"},
		{header + "1,10,0.5\n", path + ":2: 3 fields"},
		{"epoch,step\n", path + ":1: header"},
		{"", path + ": empty file"},
	} {
		os.WriteFile(path, []byte(tc.content), 0o644)
		_, err := ReadMetrics(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("content %q: err %v, want it to contain %q", tc.content, err, tc.want)
		}
	}
	os.Remove(path)
	if _, err := ReadMetrics(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: %v", err)
	}
}

func testConfig() Config {
	spec := graph.DefaultSpec()
	spec.Hidden = []int{128, 128}
	return Config{Spec: spec, Opt: graph.OptSpec{Kind: graph.OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		Batch: 64, Epochs: 3, Seed: 7, Device: "cpu", Out: "runs/x",
		Taps: TapConfig{Nodes: []string{"h2.act"}, Neurons: []int{0, 3}, AllEpochs: true, Examples: 100, Mode: ModeProbe}}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := &RunConfig{Config: testConfig(), Device: "cpu: 2 threads", Params: 42, Taps: []string{"h1.act"},
		Build: map[string]any{"go": "go1.26"}}
	if err := WriteConfig(dir, in); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	for _, want := range []string{"\n  \"schema\": 2,", "\n      \"norm\": \"batch\"", `"mode": "probe"`, `"model": "mlp"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("config.json lacks %q (indented JSON, names as text):\n%s", want, raw)
		}
	}
	out, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	in.Schema = ConfigSchema
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{"), 0o644)
	if _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ConfigFile)) {
		t.Errorf("bad config: %v, want error naming the file", err)
	}
	for _, tc := range []struct{ content, want string }{
		{`{"schema": 3, "config": {}}`, "schema 3"},
		{`{"config": {"spec": {"norm": "weight"}}}`, `unknown norm "weight"`},
	} {
		os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.content), 0o644)
		if _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ConfigFile) {
			t.Errorf("%s: %v, want an error naming the file and %q", tc.content, err, tc.want)
		}
	}
}

// TestReadsSchema1: a config.json written before the schema was recorded
// (the job under "config", build fields at the top level) is read.
func TestReadsSchema1(t *testing.T) {
	dir := t.TempDir()
	old := `{"act": "relu", "blas": "gonum (pure Go)", "config": {"spec": {"model": "cnn", "hidden": [16, 32], "norm": "layer",
		"norm_pos": "post", "act": "relu"}, "batch": 128, "seed": 3, "taps": {"mode": "batch"}}, "device": "cpu", "norm": "layer", "params": 9, "seed": 3}`
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(old), 0o644)
	rc, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := rc.Config
	if rc.Schema != 1 || c.Spec.Model != graph.ModelCNN || c.Spec.Norm != graph.NormLayer || c.Spec.NormPos != graph.NormPost ||
		c.Seed != 3 || c.Taps.Mode != ModeBatch || rc.Params != 9 || rc.Device != "cpu" {
		t.Fatalf("schema-1 config read as %+v", rc)
	}
}

// TestDiffNamesFlagsAndValues: each differing field once, by its flag
// where one sets it, with both values as a flag would take them.
func TestDiffNamesFlagsAndValues(t *testing.T) {
	a, b := testConfig(), testConfig()
	b.Out, b.Device, b.Resume = "elsewhere", "cuda", true // may change between sessions
	if d := Diff(a, b); len(d) != 0 {
		t.Fatalf("configs differing only in --out, --device, --resume: %v", d)
	}
	b.Spec.Norm, b.Spec.Hidden, b.Opt.LR, b.Seed, b.Taps.Mode, b.Spec.InRows = graph.NormLayer, []int{64}, 0.01, 8, ModeBatch, 14
	got := fmt.Sprint(Diff(a, b))
	want := "[--hidden: 128,128 in the run, 64 now --norm: batch in the run, layer now spec.in_rows: 28 in the run, 14 now " +
		"optimizer.lr: 0.001 in the run, 0.01 now --seed: 7 in the run, 8 now --tap-mode: probe in the run, batch now]"
	if got != want {
		t.Fatalf("Diff:\n got %s\nwant %s", got, want)
	}
}

func TestAtomicWriteLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	for _, content := range []string{"one", "two, longer", "3"} {
		if err := AtomicWriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Fatalf("content %q, want %q", got, content)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A tap write touches the npy and the index; neither leaves a temp file.
	if err := WriteTap(dir, entry("h1.act", KindEpoch, 1, 1, 2, 0), []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{"f.txt", "taps/h1.act/epoch-0001.npy", "taps/index.json"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	// A failed write (directory missing) names the path and leaves nothing.
	bad := filepath.Join(dir, "missing", "g.txt")
	if err := AtomicWriteFile(bad, []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("write into missing dir: %v, want error naming %s", err, bad)
	}
}

// npyWithHeader is an npy v1 file with the given header dict and data bytes.
func npyWithHeader(dict string, data []byte) []byte {
	h := dict
	for (10+len(h)+1)%16 != 0 {
		h += " "
	}
	h += "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	return append(append(out, h...), data...)
}

// TestReadTapBoundsHeader: a tap whose header claims more (or less, or a
// negative count) than the file and the index hold is refused before any
// allocation sized by it, with the file named; malformed headers that make
// npyio's parser panic are errors too.
func TestReadTapBoundsHeader(t *testing.T) {
	dir := t.TempDir()
	e := entry("h1.act", KindEpoch, 1, 10, 2, 0)
	if err := WriteTap(dir, e, ramp(2)); err != nil {
		t.Fatal(err)
	}
	e.File = EpochTapFile("h1.act", 1)
	path := filepath.Join(dir, e.File)
	eight := make([]byte, 8)
	for _, tc := range []struct {
		name string
		file []byte
		e    TapEntry
		want string
	}{
		{"huge rows, index agrees", npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 64), }", eight),
			TapEntry{Node: "h1.act", Kind: KindEpoch, Epoch: 1, Mode: ModeProbe, Examples: 100000000000, Neurons: make([]int, 64), File: e.File}, "bytes of data after the header"},
		{"huge rows, index disagrees", npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 64), }", eight), e, "the index says (2, 1)"},
		{"negative rows", npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1000, 64), }", eight), e, "the index says (2, 1)"},
		{"short data", npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", eight[:4]), e, "4 bytes of data after the header, want 2×1×4"},
		{"long data", npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", make([]byte, 12)), e, "12 bytes of data"},
		{"header longer than file", []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{}"), e, "npy header of 2147483647 bytes"},
		{"header without newline", []byte("\x93NUMPY\x01\x00\x04\x00abcd"), e, "malformed npy header"},
		{"bad version", []byte("\x93NUMPY\x07\x00\x04\x00abcd"), e, "npy version 7.0"},
		{"float64", npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", make([]byte, 16)), e, "want '<f4'"},
	} {
		os.WriteFile(path, tc.file, 0o644)
		_, _, _, err := ReadTap(dir, tc.e)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err %v, want it to name %s and say %q", tc.name, err, path, tc.want)
		}
	}
	// The same writer's layout, hand-made, still reads.
	data := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-2))
	os.WriteFile(path, npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", data), 0o644)
	got, _, _, err := ReadTap(dir, e)
	if err != nil || !reflect.DeepEqual(got, []float32{1.5, -2}) {
		t.Errorf("hand-made npy: %v, %v; want [1.5 -2]", got, err)
	}
}

// TestReadMetricsRefusesImpossibleValues: what no run writes is refused
// with the file, line and column, so no figure is drawn from it.
func TestReadMetricsRefusesImpossibleValues(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetricsFile)
	header := strings.Join(MetricsHeader, ",") + "\n"
	good := "1,10,0.5,0.9,0.4,0.9,1,100\n"
	for _, tc := range []struct{ row, want string }{
		{"2,20,0.5,0.9,0.4,NaN,1,100", ":3: column test_acc: NaN is outside [0, 1]"},
		{"2,20,0.5,1.5,0.4,0.9,1,100", ":3: column train_acc: 1.5 is outside [0, 1]"},
		{"2,20,0.5,0.9,+Inf,0.9,1,100", ":3: column test_loss: +Inf is outside the finite numbers ≥ 0"},
		{"2,20,-0.5,0.9,0.4,0.9,1,100", ":3: column train_loss: -0.5"},
		{"2,20,0.5,0.9,0.4,0.9,-1,100", ":3: column wall_s: -1"},
		{"0,20,0.5,0.9,0.4,0.9,1,100", ":3: column epoch: 0"},
		{"2,-20,0.5,0.9,0.4,0.9,1,100", ":3: column step: -20"},
	} {
		os.WriteFile(path, []byte(header+good+tc.row+"\n"), 0o644)
		_, err := ReadMetrics(dir)
		if err == nil || !strings.Contains(err.Error(), path+tc.want) {
			t.Errorf("row %q: err %v, want it to contain %q", tc.row, err, path+tc.want)
		}
	}
}

func TestRunFileOf(t *testing.T) {
	run := t.TempDir()
	if err := WriteConfig(run, &RunConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"metrics.csv", true}, {"config.json", true}, {"ics.csv", true}, {"run.lock", true},
		{"taps/index.json", true}, {"taps/h1.act/epoch-0001.npy", true}, {"checkpoint/state.bin", true},
		{"density.png", false}, {"drift.csv", false}, {"figs/a.png", false},
	} {
		dir, ok := RunFileOf(filepath.Join(run, tc.rel))
		if ok != tc.want || (ok && dir != run) {
			t.Errorf("%s: %q %v, want %v", tc.rel, dir, ok, tc.want)
		}
	}
	if _, ok := RunFileOf(filepath.Join(t.TempDir(), "metrics.csv")); ok {
		t.Error("metrics.csv outside a run counts as a run's file")
	}
}

// TestTapWriterAddThenFlush: Add writes the npy file at once and the
// index only on Flush, whole, sorted, listing only files already written;
// a Flush with nothing new writes nothing.
func TestTapWriterAddThenFlush(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenTapWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for step := 3; step >= 1; step-- {
		if err := w.Add(entry("h1.act", KindStep, 1, step, 1, 0), []float32{float32(step)}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, StepTapFile("h1.act", step))); err != nil {
			t.Fatalf("Add did not write the tap file: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); !os.IsNotExist(err) {
		t.Fatalf("Add wrote the index: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ix, err := ReadIndex(dir)
	if err != nil || len(ix.Entries) != 3 || ix.Entries[0].Step != 1 || ix.Entries[2].Step != 3 {
		t.Fatalf("index after Flush: %v %+v", err, ix)
	}
	os.Remove(filepath.Join(dir, IndexFile))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); !os.IsNotExist(err) {
		t.Fatal("a Flush with nothing added rewrote the index")
	}
	gone := filepath.Join(t.TempDir(), "gone")
	w2, _ := OpenTapWriter(gone)
	if err := w2.Add(entry("h1.act", KindEpoch, 1, 1, 1, 0), []float32{1}); err == nil {
		t.Fatal("Add made a missing run directory")
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Fatalf("Add made %s", gone)
	}
}

// FuzzReadTap feeds arbitrary bytes as a tap's npy file: reading must
// never panic, and whatever it returns has the index's shape.
func FuzzReadTap(f *testing.F) {
	f.Add(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", make([]byte, 8)))
	f.Add(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 64), }", make([]byte, 8)))
	f.Add(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1000, 64), }", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{}"))
	f.Add([]byte("\x93NUMPY\x01\x00\x04\x00abcd"))
	f.Fuzz(func(t *testing.T, file []byte) {
		dir := t.TempDir()
		e := entry("h1.act", KindEpoch, 1, 10, 2, 0)
		e.File = EpochTapFile("h1.act", 1)
		path := filepath.Join(dir, e.File)
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, file, 0o644)
		data, examples, neurons, err := ReadTap(dir, e)
		if err == nil && (examples != 2 || neurons != 1 || len(data) != 2) {
			t.Fatalf("read %d×%d (%d values) for an index of 2×1", examples, neurons, len(data))
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v does not name %s", err, path)
		}
	})
}

// TestWarnsOfTinyGroups: GroupNorm groups of fewer than 4 units in an MLP
// are a warning naming the layer and a --groups that works; groups of 4 or
// more, and convolutions (whose groups span H·W), are not.
func TestWarnsOfTinyGroups(t *testing.T) {
	for _, tc := range []struct {
		model  graph.ModelKind
		hidden []int
		groups int
		want   string
	}{
		{graph.ModelMLP, []int{256, 64}, 32, "hidden layer 2's GroupNorm groups hold 2 unit(s) each"},
		{graph.ModelMLP, []int{256, 64}, 16, ""},
		{graph.ModelCNN, []int{16, 32}, 32, ""},
	} {
		c := Config{Epochs: 1}
		c.Spec = graph.DefaultSpec()
		c.Spec.Model, c.Spec.Norm, c.Spec.Hidden, c.Spec.Groups = tc.model, graph.NormGroup, tc.hidden, tc.groups
		w := strings.Join(c.Warnings(), "\n")
		if tc.want == "" && w != "" || tc.want != "" && !strings.Contains(w, tc.want) {
			t.Errorf("%v %v G=%d: warnings %q, want %q", tc.model, tc.hidden, tc.groups, w, tc.want)
		}
	}
}
