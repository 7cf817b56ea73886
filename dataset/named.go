package dataset

import (
	"fmt"
	"os"

	"normtap/internal/enum"
)

// Name names a dataset normtap finds by itself (--dataset); it is written
// as its name ("fashion"). The zero value, in configs written before
// --dataset existed, stands for MNIST.
type Name uint8

// The named datasets.
const (
	MNIST   Name = iota + 1 // the real MNIST shipped in the Go module cache (DefaultDir)
	Fashion                 // Fashion-MNIST as Debian's dataset-fashion-mnist installs it (FashionDir)
)

var names = enum.Names[Name]{What: "dataset", Names: []string{"", "mnist", "fashion"}}

func (n Name) String() string                   { return names.String(n) }
func (n Name) MarshalText() ([]byte, error)     { return names.Marshal(n) }
func (n *Name) UnmarshalText(text []byte) error { return names.Unmarshal(text, n) }
func ParseName(s string) (Name, error)          { return names.Parse(s) }
func NameList() string                          { return names.List() }

// OrMNIST is n, or MNIST for the zero value.
func (n Name) OrMNIST() Name {
	if n == 0 {
		return MNIST
	}
	return n
}

// FashionSystemDir is where Debian's dataset-fashion-mnist package puts
// the four gzipped IDX files.
const FashionSystemDir = "/usr/share/datasets/fashion-mnist"

// FashionDir finds Fashion-MNIST: $NORMTAP_FASHION_MNIST if set, else
// FashionSystemDir. Its error says how to install it.
func FashionDir() (string, error) {
	dir, where := FashionSystemDir, "Debian's location"
	if env := os.Getenv("NORMTAP_FASHION_MNIST"); env != "" {
		dir, where = env, "NORMTAP_FASHION_MNIST"
	}
	for _, name := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		if _, err := findFile(dir, name); err != nil {
			return "", fmt.Errorf("Fashion-MNIST not found in %s (%s: no %s there); install it with sudo apt-get install dataset-fashion-mnist (make apt-deps does), or pass --data DIR holding its four IDX files", dir, where, name)
		}
	}
	return dir, nil
}

// Dir is the directory of the named dataset.
func Dir(n Name) (string, error) {
	switch n.OrMNIST() {
	case MNIST:
		return DefaultDir()
	case Fashion:
		return FashionDir()
	}
	return "", fmt.Errorf("--dataset: %v is not a dataset (want %s)", n, NameList())
}
