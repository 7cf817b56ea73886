package train

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"normtap/rundir"
)

// progressReporter shows an epoch's progress: a bar with examples/s, loss
// and ETA on a terminal, a plain line every ~10 s otherwise, nothing when
// the writer is nil.
type progressReporter struct {
	w        io.Writer
	terminal bool
	bar      *progressbar.ProgressBar
	epoch    int
	epochs   int
	total    int
	last     time.Time
	start    time.Time
	startN   int
}

func newProgress(w io.Writer, terminal bool) *progressReporter {
	return &progressReporter{w: w, terminal: terminal}
}

func (p *progressReporter) startEpoch(epoch, epochs, total, done int) {
	if p.w == nil {
		return
	}
	p.epoch, p.epochs, p.total = epoch, epochs, total
	p.start, p.last, p.startN = time.Now(), time.Now(), done
	if p.terminal {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("ex"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(done)
	}
}

func (p *progressReporter) update(done int, loss float64) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", p.epoch, p.epochs, loss))
		_ = p.bar.Set(done)
		return
	}
	if time.Since(p.last) >= 10*time.Second {
		p.last = time.Now()
		el := time.Since(p.start).Seconds()
		rate := float64(done-p.startN) / el
		eta := time.Duration(float64(p.total-done)/rate) * time.Second
		fmt.Fprintf(p.w, "epoch %d/%d: %d/%d examples, loss %.4f, %.0f examples/s, ETA %s\n", p.epoch, p.epochs, done, p.total, loss, rate, eta.Round(time.Second))
	}
}

func (p *progressReporter) clear() {
	if p.bar != nil {
		_ = p.bar.Clear()
		p.bar = nil
	}
}

func (p *progressReporter) endEpoch(m rundir.Metrics) {
	if p.w == nil {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "epoch %d/%d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.0f examples/s | %.1f s\n",
		m.Epoch, p.epochs, m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, m.ExamplesPerS, m.WallS)
}
