package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"normtap/dataset"
	"normtap/graph"
	"normtap/kernels"
	"normtap/rundir"
)

// Options are how a run reports and where it runs, not what it computes.
type Options struct {
	Log        io.Writer // progress and notes; nil for none
	Terminal   bool      // Log is a terminal: draw a progress bar
	NewMachine func(*graph.Model, graph.OptSpec) (graph.Machine, error)
	// Meta is written into config.json as its build record (Go, BLAS,
	// module versions).
	Meta map[string]any
	// AfterStep, if set, is called after each optimizer step with the
	// number of steps done (for tests and tools that watch a run).
	AfterStep func(step int)
	// Warn, if set, is given one line for each setting that is valid but
	// does not do what it seems to, and for taps that will cost much.
	Warn func(msg string)
	// AfterEpoch, if set, is called after each epoch's end is written
	// (metrics row and checkpoint) with the epoch's number.
	AfterEpoch func(epoch int)
}

// ErrInterrupted is returned, wrapped, when ctx was cancelled and the run
// was checkpointed so that --resume continues it.
var ErrInterrupted = errors.New("interrupted")

// Result is what a finished run measured.
type Result struct {
	Metrics []rundir.Metrics
	Device  string
}

// Run trains cfg into cfg.Out.
func Run(ctx context.Context, cfg Config, opts Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A named dataset declares its classes, so a label outside them is an
	// error naming the file and example; any --data set takes its classes
	// from the labels it has.
	dataDir, classes := cfg.Data, 0
	if dataDir == "" {
		d, err := dataset.Dir(cfg.Dataset)
		if err != nil {
			return nil, err
		}
		dataDir, classes = d, dataset.MNISTClasses
	}
	trainSet, testSet, err := dataset.LoadClasses(dataDir, cfg.TrainLimit, classes)
	if err != nil {
		return nil, err
	}
	if trainSet.N < cfg.Batch {
		return nil, fmt.Errorf("--batch %d is larger than the %d training examples", cfg.Batch, trainSet.N)
	}
	cfg.Spec.InChannels, cfg.Spec.InRows, cfg.Spec.InCols = 1, trainSet.Rows, trainSet.Cols
	cfg.Spec.Classes = max(trainSet.Classes, testSet.Classes, 2)
	model, err := graph.Build(cfg.Spec, cfg.Batch)
	if err != nil {
		return nil, err
	}
	taps, err := resolveTaps(model, cfg.Taps)
	if err != nil {
		return nil, err
	}
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 1))
	model.Init(initRNG)
	newMachine := opts.NewMachine
	if newMachine == nil {
		newMachine = func(m *graph.Model, o graph.OptSpec) (graph.Machine, error) { return graph.NewCPUMachine(m, o) }
	}
	mach, err := newMachine(model, cfg.Opt)
	if err != nil {
		return nil, err
	}
	defer mach.Close()

	r := &runner{cfg: cfg, opts: opts, model: model, mach: mach, train: trainSet, test: testSet, taps: taps,
		shuffle: rand.NewPCG(cfg.Seed, 2)}
	r.st.Config = cfg
	r.warnSettings()
	lock, err := r.openDir()
	if err != nil {
		return nil, err
	}
	defer lock.release()
	if err := r.prepareDir(); err != nil {
		return nil, err
	}
	err = r.loop(ctx)
	if r.checkDir() == nil {
		if ferr := r.tw.Flush(); err == nil { // the taps since the last checkpoint
			err = ferr
		}
	} else if err != nil && !errors.Is(err, ErrInterrupted) {
		err = r.checkDir() // what failed the write: the directory went away
	}
	return &Result{Metrics: r.st.Metrics, Device: mach.Device()}, err
}

type runner struct {
	cfg     Config
	opts    Options
	model   *graph.Model
	mach    graph.Machine
	train   *dataset.Set
	test    *dataset.Set
	taps    []resolvedTap
	tw      *rundir.TapWriter
	shuffle *rand.PCG
	st      runState // where the run stands: what a checkpoint saves
	clk     clocks
	// beforeDraw is the shuffle state before this session drew the
	// current epoch's order (nil when the order came from a checkpoint)
	beforeDraw []byte
	dirInfo    os.FileInfo // the run directory as opened (checkDir)
	savedStep  int         // the step of the last checkpoint
	lastFlush  time.Time   // when the tap index was last written
	perm       []int32
	xbuf       []float32
	ybuf       []float32
	bar        *progressReporter
	meas       *measurer
}

// warn passes msg to Options.Warn.
func (r *runner) warn(format string, args ...any) {
	if r.opts.Warn != nil {
		r.opts.Warn(fmt.Sprintf(format, args...))
	}
}

// warnSettings warns about settings that do not do what they seem to, and
// about taps that will cost much, before the run starts.
func (r *runner) warnSettings() {
	for _, w := range r.cfg.Warnings() {
		r.warn("%s", w)
	}
	t := r.cfg.Taps
	if len(r.taps) > 0 && t.Mode == rundir.ModeProbe && t.Examples > r.test.N {
		r.warn("--tap-examples %d: the test set has %d examples; the probe set is all %d of them", t.Examples, r.test.N, r.test.N)
	}
	if c := r.tapCost(); c.bytes > warnTapBytes || c.slowdown > warnTapSlowdown {
		r.warn("the taps will write about %s and make an epoch about %.1fx as long as without them (%s; an estimate): fewer --tap-neuron, --tap-examples, --tap-epochs or a larger --tap-every-steps cost less", formatBytes(c.bytes), c.slowdown, c.what)
	}
}

// openDir makes the run directory (or, to resume, finds it: a missing one
// is not made), refuses a folder that holds files normtap did not write,
// takes the directory's lock and removes the temporary files a killed run
// left. It notes the directory's identity for checkDir.
func (r *runner) openDir() (*runLock, error) {
	dir := r.cfg.Out
	if dir == "" {
		return nil, errors.New("--out: no run directory given")
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("--out %s is a file, not a directory", dir)
	case errors.Is(err, fs.ErrNotExist) && r.cfg.Resume:
		return nil, fmt.Errorf("--resume: %s does not exist: there is no run to continue (drop --resume to start one there)", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		// not (yet) a run: only an empty folder, or one holding what an
		// aborted start of a run left, may become one
		name, err := rundir.Foreign(dir)
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		if name != "" {
			return nil, fmt.Errorf("--out %s is not empty and not a normtap run (it holds %s): choose a new or empty folder", dir, name)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	lock, err := lockRunDir(dir)
	if err != nil {
		return nil, err
	}
	if r.dirInfo, err = os.Stat(dir); err == nil {
		err = rundir.RemoveTemps(dir)
	}
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	return lock, nil
}

// checkDir stops the run when its directory was removed or renamed while
// it ran: writing on would make a new, half-empty one at the old path.
func (r *runner) checkDir() error {
	fi, err := os.Stat(r.cfg.Out)
	if err != nil || !os.SameFile(fi, r.dirInfo) {
		return fmt.Errorf("the run directory %s was removed or renamed while the run was writing it: stopped (it ends at its last checkpoint, step %d; to go on, move it back and add --resume)", r.cfg.Out, r.savedStep)
	}
	return nil
}

// prepareDir starts the run in its directory, or reopens it to resume: a
// run with a checkpoint continues from it; one stopped before its first
// checkpoint starts again from step 0, as the same run.
func (r *runner) prepareDir() error {
	dir := r.cfg.Out
	has := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
	started := has(rundir.ConfigFile) || has(rundir.MetricsFile) || has(rundir.CheckpointDir)
	switch {
	case !r.cfg.Resume && started:
		return fmt.Errorf("--out %s already holds a run; pass --resume to continue it, or choose another --out", dir)
	case r.cfg.Resume && has(rundir.ConfigFile):
		saved, err := rundir.ReadConfig(dir)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if err := sameJob(saved.Config, r.cfg); err != nil {
			return fmt.Errorf("--resume %s: %w", dir, err)
		}
		if has(rundir.CheckpointFile) {
			return r.resume()
		}
		r.logf("normtap: %s has no checkpoint yet (stopped before its first one): starting the run again from step 0", dir)
		if err := rundir.ClearUnstarted(dir); err != nil {
			return err
		}
	case r.cfg.Resume:
		return fmt.Errorf("--resume: %s holds no run yet (no %s): start the run without --resume", dir, rundir.ConfigFile)
	}
	rc := &rundir.RunConfig{Config: r.cfg, Device: r.mach.Device(), Params: r.model.ParamCount(),
		Taps: r.model.TapNames(), Build: r.opts.Meta}
	if err := rundir.WriteConfig(dir, rc); err != nil {
		return err
	}
	if err := rundir.WriteMetrics(dir, nil); err != nil {
		return err
	}
	return r.openOutputs()
}

// resume continues the run from its checkpoint.
func (r *runner) resume() error {
	st, perm, err := r.loadCheckpoint()
	if err != nil {
		return err
	}
	if err := r.shuffle.UnmarshalBinary(st.ShuffleRNG); err != nil {
		return fmt.Errorf("resume: shuffle state: %w", err)
	}
	r.st, r.perm = st, perm
	r.st.Config = r.cfg // this session's --out and --device
	r.savedStep = st.Step
	if err := rundir.WriteMetrics(r.cfg.Out, st.Metrics); err != nil {
		return err
	}
	return r.openOutputs()
}

// openOutputs opens the tap index and the measurement files.
func (r *runner) openOutputs() error {
	tw, err := rundir.OpenTapWriter(r.cfg.Out)
	if err != nil {
		return err
	}
	r.tw = tw
	return r.openMeasure()
}

// logf writes a note line to the run's log, if it has one.
func (r *runner) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", args...)
	}
}

// save checkpoints the run: the tap index first, so that it lists every tap
// up to the checkpoint's step.
func (r *runner) save() error {
	if err := r.checkDir(); err != nil {
		return err
	}
	if err := r.tw.Flush(); err != nil {
		return err
	}
	r.lastFlush = time.Now()
	if err := saveCheckpoint(r.cfg.Out, r.st, r.perm, r.mach); err != nil {
		return err
	}
	r.savedStep = r.st.Step
	return nil
}

// sameJob refuses to resume a run with flags that change what it computes,
// naming each field that differs with both values.
func sameJob(saved, now Config) error {
	diffs := rundir.Diff(saved, now)
	if len(diffs) == 0 {
		return nil
	}
	parts := make([]string, len(diffs))
	for i, d := range diffs {
		parts[i] = d.String()
	}
	return fmt.Errorf("the flags differ from those the run was started with (%s); pass the same flags, or choose another --out", strings.Join(parts, "; "))
}

func (r *runner) batchesPerEpoch() int { return r.train.N / r.cfg.Batch }

// loop trains from where r.st stands to the end of the run: each epoch's
// remaining steps, then its end (evaluation, taps, metrics, checkpoint).
func (r *runner) loop(ctx context.Context) error {
	cfg := r.cfg
	nb := r.batchesPerEpoch()
	r.xbuf = make([]float32, cfg.Batch*r.train.Features())
	r.ybuf = make([]float32, cfg.Batch)
	r.bar = newProgress(r.opts.Log, r.opts.Terminal)
	r.clk.runStart, r.clk.wallBase = time.Now(), r.st.WallS
	for r.st.EndPending || r.st.Epoch < cfg.Epochs && !r.reachedMaxSteps() {
		epoch := r.st.Epoch + 1
		// a checkpoint taken inside an epoch's end (EndPending) has its
		// steps and batch-mode taps done: a resume goes straight to the end
		ending := r.st.EndPending
		if r.st.Pos == 0 && !ending {
			r.startEpoch()
		}
		r.mach.SetTraining(true)
		r.bar.startEpoch(epoch, cfg.Epochs, nb*cfg.Batch, r.st.Pos*cfg.Batch)
		r.clk.epochStart, r.clk.epochBase = time.Now(), r.st.EpochTimeS
		for !ending && r.st.Pos < nb && !r.reachedMaxSteps() {
			if err := ctx.Err(); err != nil {
				r.bar.clear()
				if r.st.Pos == 0 && r.beforeDraw != nil {
					// a resume at position 0 draws the order again
					r.st.ShuffleRNG = r.beforeDraw
				}
				if err := r.saveMidEpoch(); err != nil {
					return err
				}
				return fmt.Errorf("%w at epoch %d, step %d; checkpoint written: add --resume to the same command to continue", ErrInterrupted, epoch, r.st.Step)
			}
			if err := r.step(epoch); err != nil {
				return err
			}
		}
		if err := r.endEpoch(ctx, epoch, ending); err != nil {
			return err
		}
	}
	return nil
}

// clocks time a run across its sessions: the run's wall time and the
// current epoch's training time continue from the checkpoint's.
type clocks struct {
	runStart, epochStart time.Time
	wallBase, epochBase  float64 // seconds before this session
}

func (r *runner) wallS() float64 { return r.clk.wallBase + time.Since(r.clk.runStart).Seconds() }
func (r *runner) epochTimeS() float64 {
	return r.clk.epochBase + time.Since(r.clk.epochStart).Seconds()
}

func (r *runner) reachedMaxSteps() bool { return r.cfg.MaxSteps > 0 && r.st.Step >= r.cfg.MaxSteps }

// startEpoch draws the epoch's data order and zeroes its sums. It keeps
// the shuffle state from before the draw (beforeDraw): a checkpoint taken
// before the epoch's first step stores that one, since a resume at
// position 0 draws the order again.
func (r *runner) startEpoch() {
	r.beforeDraw, _ = r.shuffle.MarshalBinary()
	r.perm = drawOrder(r.shuffle, r.train.N)
	st, _ := r.shuffle.MarshalBinary()
	r.st.ShuffleRNG = st
	r.st.EpochLoss, r.st.EpochRight, r.st.EpochTimeS = 0, 0, 0
}

// saveMidEpoch checkpoints inside an epoch, with its clocks.
func (r *runner) saveMidEpoch() error {
	r.st.EpochTimeS = r.epochTimeS()
	r.st.WallS = r.wallS()
	return r.save()
}

// step takes the epoch's next training step, with the measurements, taps
// and checkpoints that fall on it.
func (r *runner) step(epoch int) error {
	cfg := r.cfg
	r.fillBatch(r.st.Pos)
	if err := r.measure(r.st.Step + 1); err != nil {
		return err
	}
	loss, right, err := r.mach.Step(r.xbuf, r.ybuf)
	if err != nil {
		return err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		r.bar.clear()
		return fmt.Errorf("training diverged: the loss became %v at epoch %d, step %d; the learning rate (--lr %g) is likely too high; %s keeps every epoch before this one", loss, epoch, r.st.Step+1, cfg.Opt.LR, cfg.Out)
	}
	r.st.Step++
	r.st.Pos++
	r.st.EpochLoss += float64(loss)
	r.st.EpochRight += right
	if cfg.Taps.EverySteps > 0 && r.st.Step%cfg.Taps.EverySteps == 0 {
		// not interruptible: a resume continues after this step, so its
		// tap must be whole before the run may stop
		if err := r.tap(context.Background(), epoch, rundir.KindStep); err != nil {
			return err
		}
	}
	if cfg.CheckpointEverySteps > 0 && r.st.Step%cfg.CheckpointEverySteps == 0 && r.st.Pos < r.batchesPerEpoch() {
		if err := r.saveMidEpoch(); err != nil {
			return err
		}
	}
	r.bar.update(r.st.Pos*cfg.Batch, r.st.EpochLoss/float64(r.st.Pos))
	if r.opts.AfterStep != nil {
		r.opts.AfterStep(r.st.Step)
	}
	return nil
}

// endEpoch ends epoch after its last step: batch-mode taps (of the last
// training batch, before the evaluation overwrites the graph's values),
// the parameter check, the test-set evaluation, probe taps, the metrics
// row and the checkpoint. The evaluation and the probe taps stop within a
// batch when ctx is cancelled: the run then checkpoints with the epoch's
// steps all done and its end still to do (EndPending), which a resume
// does first. tapped says the batch-mode taps are already
// written (the resume of such a checkpoint: that batch is gone).
func (r *runner) endEpoch(ctx context.Context, epoch int, tapped bool) error {
	cfg := r.cfg
	trainTime := r.epochTimeS()
	if cfg.Taps.Mode == rundir.ModeBatch && tapsEpoch(cfg.Taps, epoch) && !tapped {
		if err := r.tap(ctx, epoch, rundir.KindEpoch); err != nil {
			return err
		}
	}
	if err := r.checkParams(epoch); err != nil {
		return err
	}
	interrupted := func(err error) error {
		if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
			return err
		}
		r.bar.clear()
		r.st.EpochTimeS, r.st.WallS, r.st.EndPending = trainTime, r.wallS(), true
		if err := r.save(); err != nil {
			return err
		}
		return fmt.Errorf("%w at the end of epoch %d (step %d), before its evaluation was done; checkpoint written: add --resume to the same command to finish it", ErrInterrupted, epoch, r.st.Step)
	}
	testLoss, testAcc, err := r.evaluate(ctx)
	if err != nil {
		return interrupted(err)
	}
	if cfg.Taps.Mode == rundir.ModeProbe && tapsEpoch(cfg.Taps, epoch) {
		if err := r.tap(ctx, epoch, rundir.KindEpoch); err != nil {
			return interrupted(err)
		}
	}
	done := r.st.Pos
	row := rundir.Metrics{Epoch: epoch, Step: r.st.Step,
		TrainLoss: r.st.EpochLoss / float64(done), TrainAcc: float64(r.st.EpochRight) / float64(done*cfg.Batch),
		TestLoss: testLoss, TestAcc: testAcc,
		WallS: r.wallS(), ExamplesPerS: float64(done*cfg.Batch) / trainTime}
	r.st.Metrics = append(r.st.Metrics, row)
	r.st.Epoch, r.st.Pos, r.st.EndPending = epoch, 0, false
	r.st.WallS = row.WallS
	if err := r.checkDir(); err != nil {
		return err
	}
	if err := rundir.WriteMetrics(cfg.Out, r.st.Metrics); err != nil {
		return err
	}
	if err := r.save(); err != nil {
		return err
	}
	r.bar.endEpoch(row)
	if r.opts.AfterEpoch != nil {
		r.opts.AfterEpoch(epoch)
	}
	return nil
}

// drawOrder is a fresh random order of n examples.
func drawOrder(rng *rand.PCG, n int) []int32 {
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	rand.New(rng).Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}

// fillBatch copies the examples of batch b of this epoch's order.
func (r *runner) fillBatch(b int) {
	f := r.train.Features()
	for i := 0; i < r.cfg.Batch; i++ {
		k := int(r.perm[b*r.cfg.Batch+i])
		copy(r.xbuf[i*f:(i+1)*f], r.train.Images[k*f:(k+1)*f])
		r.ybuf[i] = float32(r.train.Labels[k])
	}
}

// forEachEvalBatch runs the model in eval mode over the first n examples of
// set, batch by batch (the last one padded with zeros), calling fn after
// each forward pass with the number of real rows and the logits. It stops
// with ctx's error between two batches once ctx is cancelled.
func (r *runner) forEachEvalBatch(ctx context.Context, set *dataset.Set, n int, fn func(first, rows int, logits []float32) error) error {
	r.mach.SetTraining(false)
	defer r.mach.SetTraining(true)
	f, b := set.Features(), r.cfg.Batch
	for first := 0; first < n; first += b {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := min(b, n-first)
		copy(r.xbuf, set.Images[first*f:(first+rows)*f])
		clear(r.xbuf[rows*f:])
		logits, err := r.mach.Forward(r.xbuf)
		if err != nil {
			return err
		}
		if err := fn(first, rows, logits); err != nil {
			return err
		}
	}
	return nil
}

// evaluate returns the test set's mean loss and accuracy in eval mode.
func (r *runner) evaluate(ctx context.Context) (loss, acc float64, err error) {
	k := r.model.Spec.Classes
	probs := make([]float32, r.cfg.Batch*k)
	var total float64
	right := 0
	err = r.forEachEvalBatch(ctx, r.test, r.test.N, func(first, rows int, logits []float32) error {
		for i := 0; i < rows; i++ {
			r.ybuf[i] = float32(r.test.Labels[first+i])
		}
		l := kernels.SoftmaxCrossEntropyForward(logits, r.ybuf, rows, k, probs)
		total += float64(l) * float64(rows)
		right += graph.CountCorrect(logits, r.ybuf, rows, k)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	loss, acc = total/float64(r.test.N), float64(right)/float64(r.test.N)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, 0, fmt.Errorf("training diverged: the test loss is %v after step %d; the learning rate (--lr %g) is likely too high", loss, r.st.Step, r.cfg.Opt.LR)
	}
	return loss, acc, nil
}

// checkParams stops a run whose parameters stopped being finite.
func (r *runner) checkParams(epoch int) error {
	if err := r.mach.SyncParams(); err != nil {
		return err
	}
	for _, p := range r.model.Params {
		for _, v := range p.Value {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("training diverged: parameter %s holds %v at the end of epoch %d (step %d); the learning rate (--lr %g) is likely too high", p.Name, v, epoch, r.st.Step, r.cfg.Opt.LR)
			}
		}
	}
	return nil
}
