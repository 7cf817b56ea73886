package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"normtap/kernels"
)

// TestBLASKernelChoice: normtap re-executes itself with the kernel that
// fits the CPU when OpenBLAS loaded one below it (here: pretended with a
// test hook, since OpenBLAS's own choice depends on the CPU), once; a
// user's OPENBLAS_CORETYPE wins; a kernel that fails the start-up check,
// by disagreeing with the pure-Go GEMM or by crashing, is dropped with a
// warning and OpenBLAS's own choice kept. The device line and config.json
// name the kernel.
func TestBLASKernelChoice(t *testing.T) {
	if kernels.BLASKernel() == "" {
		t.Skip("pure-Go build: no OpenBLAS kernel to choose")
	}
	better := kernels.BetterBLASKernel("Prescott")
	if better == "" {
		t.Skip("this CPU has nothing above SSE: there is no better kernel than Prescott to choose")
	}
	clean := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_") && !strings.HasPrefix(kv, "NORMTAP_") {
			clean = append(clean, kv)
		}
	}
	// train runs a tiny training with env added and returns its stderr
	// with config.json's device description, and config.json's blas_kernel. A loop of re-executions would hit the
	// deadline.
	train := func(t *testing.T, env ...string) (string, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binPath, "train", "--hidden", "16", "--epochs", "1", "--train-limit", "300", "--quiet", "--device", "cpu", "--out", out)
		cmd.Env = append(append([]string{}, clean...), env...)
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("train with %v: %v\n%s", env, err, errb.String())
		}
		if strings.Contains(errb.String(), "goroutine ") {
			t.Errorf("a Go trace reached the user:\n%s", errb.String())
		}
		data, err := os.ReadFile(filepath.Join(out, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg any
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		// wherever the config type puts them; the device line (not printed
		// with --quiet) is device_description
		return errb.String() + "\n" + findString(cfg, "device_description"), findString(cfg, "blas_kernel")
	}
	t.Run("normtap chooses", func(t *testing.T) {
		errs, kernel := train(t, envTestLoaded+"=Prescott")
		if kernel != better {
			t.Errorf("config.json blas_kernel %q, want %q", kernel, better)
		}
		if want := "OpenBLAS " + better + ", chosen by normtap"; !strings.Contains(errs, want) {
			t.Errorf("device line lacks %q:\n%s", want, errs)
		}
	})
	t.Run("user wins", func(t *testing.T) {
		errs, kernel := train(t, envTestLoaded+"=Prescott", "OPENBLAS_CORETYPE=Prescott")
		if kernel != "Prescott" {
			t.Errorf("config.json blas_kernel %q, want Prescott", kernel)
		}
		if want := "OpenBLAS Prescott, from OPENBLAS_CORETYPE"; !strings.Contains(errs, want) {
			t.Errorf("device line lacks %q:\n%s", want, errs)
		}
	})
	t.Run("check disagrees", func(t *testing.T) {
		errs, kernel := train(t, envTestLoaded+"=Prescott", envTestDisagree+"=1")
		if kernel != kernels.BLASKernel() {
			t.Errorf("config.json blas_kernel %q, want OpenBLAS's own %q", kernel, kernels.BLASKernel())
		}
		for _, want := range []string{"warning: OpenBLAS loaded its Prescott kernel", "disagreed with the pure-Go GEMM", "failed its check"} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
		}
	})
	t.Run("kernel crashes", func(t *testing.T) {
		if kernels.CPUInstructionSet() == "AVX-512" {
			t.Skip("this CPU runs the SkylakeX kernel")
		}
		errs, kernel := train(t, envTestLoaded+"=Prescott", envTestWant+"=SkylakeX")
		if kernel != kernels.BLASKernel() {
			t.Errorf("config.json blas_kernel %q, want OpenBLAS's own %q", kernel, kernels.BLASKernel())
		}
		if want := "SkylakeX kernel crashed in its check"; !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	})
}

// findString finds key's string value anywhere in a decoded JSON value.
func findString(v any, key string) string {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[key].(string); ok {
			return s
		}
		for _, e := range v {
			if s := findString(e, key); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range v {
			if s := findString(e, key); s != "" {
				return s
			}
		}
	}
	return ""
}
