package sweep

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// reporter shows a sweep's progress: a line per finished run, and on a
// terminal an overall bar (in epochs, over every run) with its ETA; plain
// lines carry the ETA otherwise.
type reporter struct {
	w        io.Writer
	terminal bool
	bar      *progressbar.ProgressBar
	total    int // epochs over all runs
	base     int // epochs done before this sweep started
	done     int
	runs     int
	started  time.Time
}

func newReporter(w io.Writer, terminal bool) *reporter { return &reporter{w: w, terminal: terminal} }

func (r *reporter) start(total, done, runs, skipped int) {
	r.total, r.base, r.done, r.runs, r.started = total, done, done, runs, time.Now()
	if r.w == nil {
		return
	}
	fmt.Fprintf(r.w, "sweep: %d runs, %d already finished\n", runs, skipped)
	if r.terminal {
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(r.w),
			progressbar.OptionSetDescription("sweep, epochs of all runs"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
		_ = r.bar.Set(done)
	}
}

func (r *reporter) progress(done int) {
	r.done = max(r.done, done)
	if r.bar != nil {
		_ = r.bar.Set(r.done)
	}
}

// eta is the time left at this sweep's pace so far ("" before any work).
func (r *reporter) eta() string {
	did := r.done - r.base
	if did <= 0 {
		return ""
	}
	left := time.Duration(float64(time.Since(r.started)) / float64(did) * float64(r.total-r.done))
	return ", ETA " + left.Round(time.Second).String()
}

// note prints a line above the bar.
func (r *reporter) note(line string) {
	if r.w == nil {
		return
	}
	if r.bar != nil {
		_ = r.bar.Clear()
	}
	fmt.Fprintln(r.w, line)
	if r.bar != nil {
		_ = r.bar.RenderBlank()
		_ = r.bar.Set(r.done)
	}
}

func (r *reporter) runEnded(o Outcome, ended int) {
	var what string
	switch o.State {
	case StateDone:
		what = fmt.Sprintf("done in %s: test_acc %.4f, test_loss %.4f", o.Wall.Round(time.Second), o.Final.TestAcc, o.Final.TestLoss)
	case StateFailed:
		what = "FAILED: " + o.Err
	case StateInterrupted:
		what = "interrupted, checkpointed"
	}
	eta := ""
	if r.bar == nil && o.State != StateInterrupted {
		eta = r.eta()
	}
	r.note(fmt.Sprintf("sweep: [%d/%d] %s %s%s", ended, r.runs, o.Run.Dir, what, eta))
}

func (r *reporter) finish() {
	if r.bar != nil {
		_ = r.bar.Clear()
		r.bar = nil
	}
}
