package dataset

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFashionMNIST reads the real Fashion-MNIST that Debian's
// dataset-fashion-mnist installs: its sizes, and the first labels of each
// split (ankle boot, T-shirt, T-shirt, dress, T-shirt for training; ankle
// boot, pullover, trouser, trouser, shirt for the test set, as listed by
// Zalando's fashion-mnist repository).
func TestFashionMNIST(t *testing.T) {
	dir, err := FashionDir()
	if err != nil {
		t.Skipf("Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist): %v", err)
	}
	train, test, err := Load(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.Rows != 28 || train.Cols != 28 || train.Classes != 10 {
		t.Fatalf("train %d, test %d, %dx%d, %d classes; want 60000, 10000, 28x28, 10", train.N, test.N, train.Rows, train.Cols, train.Classes)
	}
	for _, c := range []struct {
		set  *Set
		want []uint8
	}{{train, []uint8{9, 0, 0, 3, 0}}, {test, []uint8{9, 2, 1, 1, 6}}} {
		for i, w := range c.want {
			if c.set.Labels[i] != w {
				t.Fatalf("labels %v, want %v first", c.set.Labels[:5], c.want)
			}
		}
	}
	mnist, err := DefaultDir()
	if err == nil && mnist == dir {
		t.Fatal("Fashion-MNIST and MNIST resolve to the same directory")
	}
}

func TestFashionMissingSaysHowToInstall(t *testing.T) {
	t.Setenv("NORMTAP_FASHION_MNIST", t.TempDir())
	_, err := Dir(Fashion)
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || !strings.Contains(err.Error(), "--data DIR") {
		t.Fatalf("error %v, want one saying how to install it", err)
	}
}

func TestNameText(t *testing.T) {
	for _, n := range []Name{MNIST, Fashion} {
		b, err := json.Marshal(struct {
			D Name `json:"d"`
		}{n})
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			D Name `json:"d"`
		}
		if err := json.Unmarshal(b, &back); err != nil || back.D != n {
			t.Fatalf("%v → %s → %v, %v", n, b, back.D, err)
		}
	}
	if _, err := ParseName("cifar"); err == nil || !strings.Contains(err.Error(), "mnist or fashion") {
		t.Fatalf("ParseName(cifar): %v", err)
	}
	if Name(0).OrMNIST() != MNIST {
		t.Fatal("the zero Name is not MNIST")
	}
}
