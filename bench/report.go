package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"normtap/rundir"
)

// WriteJSON writes the report to path atomically.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("--json %s: %w", path, err)
	}
	if err := rundir.AtomicWriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--json %s: %w", path, err)
	}
	return nil
}

func fmtR(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *r)
}

// WriteTable prints the report as tables.
func (r *Report) WriteTable(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "machine: %s, %d CPUs (GOMAXPROCS %d), %s, BLAS %s; %s\n", m.CPUModel, m.NProc, m.GOMAXPROCS, m.Go, m.BLAS, m.DeviceDescription)
	if len(r.Results) > 0 {
		res := r.Results[0]
		fmt.Fprintf(w, "training step (forward, backward, %s): %s hidden %s, batch %d, %d rounds; ms per step after warm-up; %% roofline and R: medians of the rounds' own ratios\n\n",
			r.Opt, res.Model, joinInts(res.Hidden), res.Batch, r.Rounds)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "norm\tdevice\tp10 ms\tmedian ms\tp90 ms\texamples/s\tGEMM GFLOP/s\t% roofline\tforward ms\tR\tsteps\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.0f\t%.1f\t%s\t%.2f\t%s\t%d\t\n", x.Norm, x.Device, x.MsPerStepP10, x.MsPerStepMedian, x.MsPerStepP90, x.ExamplesPerSec, x.GFLOPPerSec, fmtPercent(x.RooflineFraction), x.ForwardMsMedian, fmtR(x.NormOverhead), x.Steps)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := r.Roofline.writeTable(w, r.Machine.BLASKernel); err != nil {
		return err
	}
	if p := r.Peer; p != nil {
		blas := ""
		if p.BLAS.Kernel != "" {
			blas = fmt.Sprintf(", OpenBLAS %s with %d thread(s)", p.BLAS.Kernel, p.BLAS.Threads)
		}
		fmt.Fprintf(w, "\npeer: %s %s, %d thread(s)%s (%s); medians over rounds; normtap/peer: the median of the rounds' ratios (each round's two sides seconds apart), and the ratio of the two medians\n\n", p.Tool, p.Version, p.Threads, blas, p.Command)
		tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "norm\tpeer median ms\tpeer examples/s\tpeer R\tnormtap ms\tpeer ms\tnormtap/peer examples/s\tof medians\tper round\t")
		for _, x := range p.Results {
			for _, ra := range p.Ratios {
				if ra.Norm == x.Norm {
					fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%s\t%.2f\t%.2f\t%.2fx\t%.2fx\t%s\t\n", x.Norm, x.MsPerStepMedian, x.ExamplesPerSec, fmtR(x.NormOverhead), ra.NormtapMs, ra.PeerMs, ra.ExamplesPerSecRatio, ra.RatioOfMedians, fmtFloats(ra.RoundRatios))
				}
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Micro) > 0 {
		if strings.HasPrefix(r.Machine.DeviceDescription, "cuda") {
			fmt.Fprintf(w, "\nnorm kernels on the GPU (bytes: cuda.NormBytes); device-to-device copy %.1f GB/s (16384x1024 floats, same run)\n\n", r.CopyGBPerSec)
		} else {
			fmt.Fprintf(w, "\nnorm kernels, one core (bytes: bench.NormBytes); copy bandwidth %.1f GB/s (single core, %d MiB buffers)\n\n", r.CopyGBPerSec, CopyBytesLarge>>20)
		}
		tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "kernel\tshape\tbytes\tµs\tGB/s\t% of copy\tsame-size copy GB/s\t")
		for _, x := range r.Micro {
			fmt.Fprintf(tw, "%s %s\t%dx%d\t%d\t%.1f\t%.1f\t%.0f%%\t%.1f\t\n", x.Kind, x.Pass, x.N, x.D, x.BytesPerIter, x.NsPerIter/1e3, x.GBPerSec, 100*x.CopyFraction, x.SameSizeCopyGBPerSec)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if t := r.Tap; t != nil {
		fmt.Fprintf(w, "\ntapping %d neuron of %s (%s) every epoch, %d probe examples: %.2f ms per epoch against a %.0f ms epoch (%d steps): %.3f%% overhead\n  (%s)\n",
			t.Neurons, t.Node, t.Norm, t.Examples, t.TapMsMedian, t.EpochMs, t.StepsPerEpoch, 100*t.OverheadFraction, t.Method)
	}
	return nil
}

func fmtPercent(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**f)
}

// writeTable prints the roofline: the model's GEMMs timed alone.
func (rf *Roofline) writeTable(w io.Writer, kernel string) error {
	if rf == nil {
		return nil
	}
	if kernel != "" {
		kernel = " (OpenBLAS " + kernel + ")"
	}
	fmt.Fprintf(w, "\nroofline: %.2f MFLOP of GEMMs per example; the model's GEMM shapes alone run at %.1f GFLOP/s%s, so a step takes at least %.2f ms (%% roofline above: that ÷ the median step)\n\n",
		rf.FLOPPerExample/1e6, rf.GemmGFLOPPerSec, kernel, rf.StepMsAtRoofline)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "GEMM\tper step\tms per call\tGFLOP/s\t")
	for _, g := range rf.Gemms {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f\t\n", g.Shape, g.PerStep, g.MsPerCall, g.GFLOPPerSec)
	}
	return tw.Flush()
}

func fmtFloats(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2f", x)
	}
	return s
}
