package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreCurrent fails when a kernel was added, removed or
// changed its parameters in cuda/kernels/*.ptx without `go generate ./cuda`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := Generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join("../..", f.Path))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./cuda)", f.Path, err)
			continue
		}
		if !bytes.Equal(old, f.Data) {
			t.Errorf("cuda/%s is stale: run go generate ./cuda", f.Path)
		}
	}
}

func TestGoIdent(t *testing.T) {
	for in, want := range map[string]string{
		"im2col3x3":       "kIm2col3x3",
		"gemm_nn_128":     "kGemmNn128",
		"ln_forward_32_1": "kLnForward32_1",
		"copy_f32":        "kCopyF32",
	} {
		if got := goIdent(in); got != want {
			t.Errorf("goIdent(%q) = %q, want %q", in, got, want)
		}
	}
}
