// Command normtap trains MNIST-scale networks with BatchNorm and LayerNorm
// as Gorgonia graphs, taps the activations of chosen nodes across epochs,
// draws how their distribution moves, and benchmarks what normalization costs.
//
// The command holds no logic of its own: it turns flags into configs and
// calls into the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"normtap/graph"
)

// Globals are the flags every subcommand shares.
type Globals struct {
	Quiet bool `help:"Print no progress bar or progress lines."`
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Train TrainCmd `cmd:"" help:"Train a model on an IDX dataset (default: the bundled MNIST) into a run directory."`
	Nodes NodesCmd `cmd:"" help:"List a model's tap points with their shapes."`
	Plot  PlotCmd  `cmd:"" help:"Draw figures from one or more run directories."`
	Bench BenchCmd `cmd:"" help:"Benchmark training throughput and the cost of normalization."`
	Repro ReproCmd `cmd:"" help:"Reproduce a figure from the literature."`
	Sweep SweepCmd `cmd:"" help:"Train a grid of runs (--vary flag=a|b …) under one root, a few at once, or print their commands for a scheduler."`
}

// UsageError is a mistake in the command line: it exits with status 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// usagef makes a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	if os.Getenv(envProbe) != "" {
		os.Exit(blasProbe())
	}
	chooseBLASKernel(os.Args[1:]) // may re-execute normtap with a better OpenBLAS kernel
	os.Exit(run(os.Args[1:]))
}

// run parses args, runs the chosen subcommand, and returns the exit status:
// 0 success, 1 runtime error, 2 usage error, 130/143 interrupted.
func run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "normtap: internal error: %v (please report it with the command line; set NORMTAP_TRACE=1 for a trace)\n", r)
			if os.Getenv("NORMTAP_TRACE") != "" {
				os.Stderr.Write(debug.Stack())
			}
			code = 1
		}
	}()
	var cli CLI
	parser, err := kong.New(&cli, cliOptions,
		kong.Name("normtap"),
		kong.Description("Train networks with and without normalization, tap their activations, and see what normalization does."),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Exit(func(int) {}),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "normtap: %v\n", err)
		return 1
	}
	exited := false
	parser.Exit = func(c int) { exited = true; code = c; panic(exitSignal{}) }
	var kctx *kong.Context
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitSignal); !ok {
					panic(r)
				}
			}
		}()
		kctx, err = parser.Parse(args)
	}()
	if exited {
		return code
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "normtap: %v (see normtap --help)\n", err)
		return 2
	}
	if err := handOver(args); err != nil {
		return exitCode(err)
	}
	command, _, _ := strings.Cut(kctx.Command(), " ")
	ctx, stop := signalContext(stopsAtOnce[command])
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	err = kctx.Run(&cli.Globals)
	var ie *InterruptedError
	if errors.Is(err, context.Canceled) && !errors.As(err, &ie) && signalled(ctx) {
		err = &InterruptedError{Msg: command + ": interrupted", Code: interruptCode(ctx)}
	}
	return exitCode(err)
}

// cliOptions are what every normtap parser shares (main's, the fuzz
// test's, sweep's check of its train flags): the ${…} in flag help filled
// from the tables of named values, so that a new norm or model shows up in
// --help without editing it here; and float flags that refuse NaN and
// infinities.
var cliOptions = kong.OptionFunc(func(k *kong.Kong) error {
	for _, o := range []kong.Option{
		kong.Vars{"norms": graph.NormHelp(), "models": graph.ModelNames()},
		kong.TypeMapper(reflect.TypeOf(float64(0)), finiteFloat()),
	} {
		if err := o.Apply(k); err != nil {
			return err
		}
	}
	return nil
})

type exitSignal struct{}

// signalCode is the exit status after signal s: 143 for SIGTERM, else 130.
func signalCode(s os.Signal) int {
	if s == syscall.SIGTERM {
		return 143
	}
	return 130
}

// signalled reports whether ctx was cancelled by a signal.
func signalled(ctx context.Context) bool {
	s, ok := ctx.Value(signalKey{}).(*caughtSignal)
	return ok && s.get() != nil
}

type signalKey struct{}

// caughtSignal records the signal that cancelled a context.
type caughtSignal struct {
	mu  sync.Mutex
	sig os.Signal
}

func (c *caughtSignal) get() os.Signal { c.mu.Lock(); defer c.mu.Unlock(); return c.sig }

// stopsAtOnce are the commands that one SIGINT or SIGTERM ends at once:
// they have no step to finish and nothing to save (their files are
// written atomically at the end). The others (train, repro, sweep) finish
// the current step and save first.
var stopsAtOnce = map[string]bool{"plot": true, "nodes": true, "bench": true}

// stopGrace is how long a command that stops at once has, after the
// signal, to notice the cancelled context and return before the process
// exits anyway.
const stopGrace = 500 * time.Millisecond

// signalContext is cancelled by the first SIGINT or SIGTERM. With atOnce
// the process then exits within stopGrace whatever the command is doing;
// otherwise long work can finish its step and save, and a second signal
// exits at once.
func signalContext(atOnce bool) (context.Context, func()) {
	caught := &caughtSignal{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), signalKey{}, caught))
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-ch
		if !ok {
			return
		}
		caught.mu.Lock()
		caught.sig = s
		caught.mu.Unlock()
		if atOnce {
			cancel()
			select {
			case <-time.After(stopGrace):
			case s2, ok := <-ch:
				if !ok {
					return
				}
				s = s2
			}
			fmt.Fprintf(os.Stderr, "normtap: %v: interrupted, stopped at once\n", s)
			os.Exit(signalCode(s))
		}
		fmt.Fprintf(os.Stderr, "\nnormtap: %v: finishing the current step and saving (again to stop at once)\n", s)
		cancel()
		if s, ok := <-ch; ok {
			os.Exit(signalCode(s))
		}
	}()
	return ctx, func() { signal.Stop(ch); close(ch); cancel() }
}

// exitCode prints err as one line and maps it to an exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "normtap: %v\n", err)
		return 2
	}
	var ie *InterruptedError
	if errors.As(err, &ie) {
		fmt.Fprintf(os.Stderr, "normtap: %v\n", err)
		return ie.Code
	}
	fmt.Fprintf(os.Stderr, "normtap: %v\n", err)
	return 1
}

// InterruptedError reports a run stopped by SIGINT (130) or SIGTERM (143)
// after its state was saved.
type InterruptedError struct {
	Msg  string
	Code int
}

func (e *InterruptedError) Error() string { return e.Msg }
