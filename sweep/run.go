package sweep

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"normtap/rundir"
)

// Options are how a sweep runs its children.
type Options struct {
	// Program runs normtap: its first word is the binary (normally
	// os.Executable()), the rest come before "train".
	Program []string
	Jobs    int // children at once (≥ 1)
	// Cores are shared among the children through train's --threads
	// (0: runtime.NumCPU()); a user who fixes or varies --threads decides.
	Cores    int
	Log      io.Writer // a line per finished run, and the bar; nil for none
	Terminal bool      // Log is a terminal: draw a bar with ETA
	// PollEvery is how often the bar reads the running runs' progress
	// (0: a second).
	PollEvery time.Duration
}

// LogFile, in each run directory, collects the child's stdout and stderr.
const LogFile = rundir.LogFile

// lockFile in the root is held by the one sweep running there.
const lockFile = "sweep.lock"

// What became of a run.
const (
	StateSkipped     = "skipped"     // finished before this sweep started
	StateDone        = "done"        // finished now
	StateFailed      = "failed"      // its train exited with an error
	StateInterrupted = "interrupted" // stopped by Ctrl-C and checkpointed
	StatePending     = "pending"     // not started (the sweep was interrupted first)
)

// Outcome is what became of one run.
type Outcome struct {
	Run     Run
	State   string
	Resumed bool            // continued from a checkpoint
	Final   *rundir.Metrics // its last metrics row, when done or skipped
	Err     string          // why it failed: the last line of its train.log
	Wall    time.Duration   // this sweep's time on it
}

// Summary is what a sweep did, one outcome per run in plan order.
type Summary struct {
	Outcomes []Outcome
}

// Count is how many runs ended in state.
func (s *Summary) Count(state string) int {
	n := 0
	for _, o := range s.Outcomes {
		if o.State == state {
			n++
		}
	}
	return n
}

// ErrInterrupted is returned, wrapped, when ctx was cancelled: the running
// children were stopped with SIGINT and checkpointed; running the same
// sweep again continues them.
var ErrInterrupted = errors.New("interrupted")

// ErrRunsFailed is returned, wrapped, when some runs failed; the others
// finished.
var ErrRunsFailed = errors.New("runs failed")

// Execute runs the plan's unfinished runs, o.Jobs at a time, and returns
// what became of each run. It writes sweep.json first and holds the root's
// lock throughout.
func Execute(ctx context.Context, p *Plan, o Options) (*Summary, error) {
	if o.Jobs < 1 {
		return nil, fmt.Errorf("-j %d: must be ≥ 1", o.Jobs)
	}
	if len(o.Program) == 0 {
		return nil, errors.New("sweep: no program to run")
	}
	if o.Cores <= 0 {
		o.Cores = runtime.NumCPU()
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if err := os.MkdirAll(p.Root, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", p.Root, err)
	}
	unlock, err := lockRoot(p.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := p.WriteIndex(); err != nil {
		return nil, err
	}
	sum := &Summary{Outcomes: make([]Outcome, len(p.Runs))}
	var todo []int
	for i, r := range p.Runs {
		sum.Outcomes[i] = Outcome{Run: r, State: StatePending}
		st, final, err := p.inspect(r)
		if err != nil {
			return nil, err
		}
		switch st {
		case runFinished:
			sum.Outcomes[i].State, sum.Outcomes[i].Final = StateSkipped, final
		case runResumable:
			sum.Outcomes[i].Resumed = true
			todo = append(todo, i)
		default:
			todo = append(todo, i)
		}
	}
	ex := &executor{p: p, o: o, sum: sum, rep: newReporter(o.Log, o.Terminal)}
	ex.threads = max(1, o.Cores/max(1, min(o.Jobs, len(todo))))
	return sum, ex.run(ctx, todo)
}

type runState int

const (
	runFresh     runState = iota // nothing there yet
	runResumable                 // a checkpoint: continue with --resume
	runFinished                  // every epoch done
)

// inspect says where run r stands. A directory that holds a run started
// but never checkpointed (stopped before its first checkpoint) is cleared
// so that the run starts again from step 0.
func (p *Plan) inspect(r Run) (runState, *rundir.Metrics, error) {
	dir := filepath.Join(p.Root, r.Dir)
	if _, err := os.Stat(dir); err != nil {
		return runFresh, nil, nil
	}
	rows, err := rundir.ReadMetrics(dir)
	if err == nil && r.Length.done(rows) {
		last := rows[len(rows)-1]
		return runFinished, &last, nil
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.CheckpointFile)); err == nil {
		return runResumable, nil, nil
	}
	return runFresh, nil, clearUnstarted(dir)
}

// done reports whether a run of this length has finished, given its
// metrics rows: the same rule train's loop stops by.
func (l Length) done(rows []rundir.Metrics) bool {
	if len(rows) == 0 {
		return false
	}
	last := rows[len(rows)-1]
	return last.Epoch >= l.Epochs || l.MaxSteps > 0 && last.Step >= l.MaxSteps
}

// clearUnstarted removes what a train run writes before its first
// checkpoint (config, metrics header, taps, measurements), keeping the
// sweep's log, so that train starts the run afresh.
func clearUnstarted(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, e := range entries {
		if e.Name() == LogFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("sweep: clear the unstarted run %s: %w", dir, err)
		}
	}
	return nil
}

type executor struct {
	p       *Plan
	o       Options
	sum     *Summary
	rep     *reporter
	threads int
}

type child struct {
	index int
	cmd   *exec.Cmd
	log   *os.File
	start time.Time
}

type exit struct {
	c   *child
	err error
}

func (ex *executor) run(ctx context.Context, todo []int) error {
	total, done := 0, 0
	for _, out := range ex.sum.Outcomes {
		total += out.Run.Length.Epochs
		if out.State == StateSkipped {
			done += out.Run.Length.Epochs
		}
	}
	ex.rep.start(total, done, len(ex.sum.Outcomes), ex.sum.Count(StateSkipped))
	running := map[int]*child{}
	exits := make(chan exit)
	tick := time.NewTicker(ex.o.PollEvery)
	defer tick.Stop()
	stopping := false
	cancelled := ctx.Done() // nil once handled, so the select waits on the children
	var startErr error
	for {
		for !stopping && ctx.Err() == nil && len(running) < ex.o.Jobs && len(todo) > 0 {
			i := todo[0]
			todo = todo[1:]
			c, err := ex.launch(i)
			if err != nil {
				startErr = err
				stopping = true
				ex.interruptAll(running)
				break
			}
			running[i] = c
			go func() { exits <- exit{c, c.cmd.Wait()} }()
		}
		if len(running) == 0 {
			break
		}
		select {
		case e := <-exits:
			delete(running, e.c.index)
			ex.finish(e.c, e.err, stopping, running)
		case <-tick.C:
			ex.rep.progress(ex.workDone(running))
		case <-cancelled:
			cancelled = nil
			if !stopping {
				stopping = true
				ex.rep.note(fmt.Sprintf("sweep: interrupted: stopping %d running run(s) at their next step; each checkpoints", len(running)))
				ex.interruptAll(running)
			}
		}
	}
	ex.rep.finish()
	if startErr != nil {
		return startErr
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sweep %w: %d of %d runs finished; run the same command again to continue the others",
			ErrInterrupted, ex.sum.Count(StateDone)+ex.sum.Count(StateSkipped), len(ex.sum.Outcomes))
	}
	if n := ex.sum.Count(StateFailed); n > 0 {
		var first Outcome
		for _, out := range ex.sum.Outcomes {
			if out.State == StateFailed {
				first = out
				break
			}
		}
		return fmt.Errorf("sweep: %d of %d %w (see each run's %s); first, %s: %s",
			n, len(ex.sum.Outcomes), ErrRunsFailed, LogFile, first.Run.Dir, first.Err)
	}
	return nil
}

// launch starts run i's train as a child in its own process group, so
// that a terminal's Ctrl-C reaches only the sweep, which passes one SIGINT
// on (a second one would make train exit without saving).
func (ex *executor) launch(i int) (*child, error) {
	out := &ex.sum.Outcomes[i]
	r := out.Run
	dir := filepath.Join(ex.p.Root, r.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var extra []string
	if out.Resumed {
		extra = append(extra, "--resume")
	}
	if _, ok := ex.p.flags[ThreadsFlag]; ok && !ex.p.sets(ThreadsFlag) {
		extra = append(extra, "--"+ThreadsFlag, strconv.Itoa(ex.threads))
	}
	args := append(ex.o.Program[1:len(ex.o.Program):len(ex.o.Program)], ex.p.TrainArgs(r, extra...)...)
	log, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	fmt.Fprintf(log, "== normtap sweep %s: %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(quoteAll(append([]string{ex.o.Program[0]}, args...)), " "))
	cmd := exec.Command(ex.o.Program[0], args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("sweep: start %s: %w", ex.o.Program[0], err)
	}
	return &child{index: i, cmd: cmd, log: log, start: time.Now()}, nil
}

func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = ShellQuote(w)
	}
	return out
}

func (ex *executor) interruptAll(running map[int]*child) {
	for _, c := range running {
		c.cmd.Process.Signal(os.Interrupt)
	}
}

// finish records how child c ended.
func (ex *executor) finish(c *child, waitErr error, stopping bool, running map[int]*child) {
	c.log.Close()
	out := &ex.sum.Outcomes[c.index]
	out.Wall = time.Since(c.start)
	dir := filepath.Join(ex.p.Root, out.Run.Dir)
	rows, _ := rundir.ReadMetrics(dir)
	code := 0
	if waitErr != nil {
		code = -1
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			code = ee.ExitCode()
		}
	}
	switch {
	case code == 0 && out.Run.Length.done(rows):
		out.State = StateDone
		last := rows[len(rows)-1]
		out.Final = &last
	case stopping && (code == 130 || code == 143):
		out.State = StateInterrupted
	case code == 0:
		out.State, out.Err = StateFailed, "train exited without finishing its epochs"
	default:
		out.State, out.Err = StateFailed, lastLine(filepath.Join(dir, LogFile))
		if out.Err == "" {
			out.Err = waitErr.Error()
		}
	}
	ex.rep.progress(ex.workDone(running))
	ex.rep.runEnded(*out, ex.sum.Count(StateDone)+ex.sum.Count(StateSkipped)+ex.sum.Count(StateFailed))
}

// workDone counts the epochs done over all runs, reading the running ones'
// metrics.csv.
func (ex *executor) workDone(running map[int]*child) int {
	n := 0
	for i, out := range ex.sum.Outcomes {
		switch {
		case out.State == StateDone || out.State == StateSkipped:
			n += out.Run.Length.Epochs
		case running[i] != nil || out.State == StateInterrupted || out.Resumed:
			if rows, err := rundir.ReadMetrics(filepath.Join(ex.p.Root, out.Run.Dir)); err == nil {
				n += min(len(rows), out.Run.Length.Epochs)
			}
		}
	}
	return n
}

// lastLine is the last non-empty line of a file (a child's error).
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	return last
}

// lockRoot takes the root's lock, so that two sweeps never run the same
// runs; the kernel drops it when the process dies.
func lockRoot(root string) (func(), error) {
	path := filepath.Join(root, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("--out %s: another sweep is running there (it holds %s); wait for it", root, lockFile)
		}
		return nil, fmt.Errorf("--out %s: lock: %w", root, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
