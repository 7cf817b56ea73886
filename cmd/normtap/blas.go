package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"normtap/kernels"
)

// OpenBLAS reads OPENBLAS_CORETYPE once, when the library initialises
// (before main), and Debian's 0.3.21 falls back to its oldest kernel
// (Prescott, 4–5× slower) on CPUs it does not know. So when the kernel it
// loaded uses a lower instruction set than the CPU has, normtap checks the
// kernel it would rather have in a child process (a GEMM against its
// pure-Go GEMM; a kernel unfit for the CPU may also crash) and then
// re-executes itself with OPENBLAS_CORETYPE set. The state travels in the
// environment, so the re-executed process, and every process it starts
// (bench's peer, sweep's runs), runs the same kernel without choosing again.
const (
	envCoreType = "OPENBLAS_CORETYPE"
	// envChose is set by normtap on re-executing itself: the kernel
	// OpenBLAS had loaded by itself. It also keeps normtap from choosing
	// again.
	envChose = "NORMTAP_OPENBLAS_CHOSE"
	// envRejected: normtap's choice failed its check; OpenBLAS's own stays.
	envRejected = "NORMTAP_OPENBLAS_REJECTED"
	// envProbe makes the process the check's child: it compares the
	// kernel OpenBLAS loaded with the pure-Go GEMM and exits.
	envProbe = "NORMTAP_OPENBLAS_PROBE"
	// Test hooks: pretend OpenBLAS loaded this kernel; choose this kernel
	// instead of the one that fits; make the check's child report a
	// disagreement.
	envTestLoaded   = "NORMTAP_TEST_OPENBLAS_LOADED"
	envTestWant     = "NORMTAP_TEST_OPENBLAS_WANT"
	envTestDisagree = "NORMTAP_TEST_OPENBLAS_DISAGREE"
)

// probeTimeout bounds the check's child (it takes well under a second).
const probeTimeout = 60 * time.Second

// chooseBLASKernel re-executes normtap with a better OpenBLAS kernel when
// OpenBLAS loaded one below the CPU's instruction set and the better one
// passes the check. It returns when this process should go on as it is:
// the kernel is right, the user chose it (OPENBLAS_CORETYPE), normtap chose
// it already, or the check failed (after a warning).
func chooseBLASKernel(args []string) {
	if _, set := os.LookupEnv(envCoreType); set || os.Getenv(envChose) != "" || os.Getenv(envRejected) != "" {
		return // set even if empty: OpenBLAS then forces a kernel of its own
	}
	loaded := loadedBLASKernel()
	want := kernels.BetterBLASKernel(loaded)
	if hook := os.Getenv(envTestWant); hook != "" && want != "" {
		want = hook
	}
	if want == "" {
		return
	}
	self, err := os.Executable()
	if err == nil {
		err = probeBLASKernel(self, want)
	}
	if err == nil {
		env := append(os.Environ(), envCoreType+"="+want, envChose+"="+loaded)
		err = syscall.Exec(self, append([]string{os.Args[0]}, args...), env)
	}
	fmt.Fprintf(os.Stderr, "normtap: warning: OpenBLAS loaded its %s kernel on a CPU with %s, but its %s kernel %v; staying with %s (set %s to choose one)\n",
		loaded, kernels.CPUInstructionSet(), want, err, loaded, envCoreType)
	os.Setenv(envRejected, want)
}

// loadedBLASKernel is the kernel OpenBLAS loaded (or the test hook's).
func loadedBLASKernel() string {
	if hook := os.Getenv(envTestLoaded); hook != "" && kernels.BLASKernel() != "" {
		return hook
	}
	return kernels.BLASKernel()
}

// probeBLASKernel runs normtap as the check's child with kernel.
func probeBLASKernel(self, kernel string) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), envCoreType+"="+kernel, envProbe+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return errors.New(strings.TrimSpace(lastLine(string(out)))) // the child's own verdict
	}
	if ctx.Err() != nil {
		return fmt.Errorf("did not finish its check in %v", probeTimeout)
	}
	if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" {
		return fmt.Errorf("crashed in its check (%s)", first) // e.g. SIGILL: illegal instruction
	}
	return fmt.Errorf("crashed in its check (%v)", err)
}

// blasProbe is the check's child: 0 when OpenBLAS loaded the kernel asked
// for and it agrees with the pure-Go GEMM, else 1 with the reason on stdout.
func blasProbe() int {
	want, got := os.Getenv(envCoreType), kernels.BLASKernel()
	switch {
	case !strings.EqualFold(got, want):
		fmt.Printf("was not loaded (OpenBLAS loaded %s)\n", got)
		return 1
	case os.Getenv(envTestDisagree) != "":
		fmt.Printf("disagreed with the pure-Go GEMM (%s)\n", envTestDisagree)
		return 1
	}
	if err := kernels.CheckBLAS(); err != nil {
		fmt.Printf("disagreed with the pure-Go GEMM: %v\n", err)
		return 1
	}
	return 0
}

// blasDescription names the BLAS and, for OpenBLAS, its kernel and who
// chose it, for the device line and config.json.
func blasDescription() string {
	kernel := kernels.BLASKernel()
	if kernel == "" {
		return blasName + " BLAS"
	}
	switch {
	case os.Getenv(envChose) != "":
		return fmt.Sprintf("%s %s, chosen by normtap for %s over OpenBLAS's %s", blasName, kernel, kernels.CPUInstructionSet(), os.Getenv(envChose))
	case os.Getenv(envRejected) != "":
		return fmt.Sprintf("%s %s, its own choice: normtap's %s failed its check", blasName, kernel, os.Getenv(envRejected))
	}
	if _, set := os.LookupEnv(envCoreType); set {
		return fmt.Sprintf("%s %s, from %s", blasName, kernel, envCoreType)
	}
	return fmt.Sprintf("%s %s", blasName, kernel)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
