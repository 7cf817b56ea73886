package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"normtap/graph"
)

// PeerRun is one run of a peer benchmark: peer.py's JSON.
type PeerRun struct {
	Tool    string   `json:"tool"`
	Version string   `json:"version"`
	Threads int      `json:"threads"`
	BLAS    PeerBLAS `json:"blas"`
	Results []Result `json:"results"`
}

// PeerBLAS is the BLAS the peer's matrix products ran in, as it reports
// it (peer.py asks the OpenBLAS its PyTorch loaded), and the environment
// it inherited from normtap, OPENBLAS_CORETYPE included.
type PeerBLAS struct {
	Kernel  string `json:"kernel,omitempty"`
	Threads int    `json:"threads,omitempty"`
	// CoreType is OPENBLAS_CORETYPE in the peer's environment: normtap's
	// choice (or the user's), so both sides run the same kernel.
	CoreType string `json:"openblas_coretype,omitempty"`
}

// Peer is the peer benchmark next to normtap's, medians over rounds.
type Peer struct {
	Command string   `json:"command"`
	Tool    string   `json:"tool"`
	Version string   `json:"version"`
	Threads int      `json:"threads"`
	BLAS    PeerBLAS `json:"blas"`
	// Results are the peer's per configuration: each field the median over
	// rounds of that round's value.
	Results []Result `json:"results"`
	// Ratios compare normtap with the peer per norm.
	Ratios []Ratio `json:"ratios"`
	// Rounds are each round's medians, normtap's and the peer's, in the
	// order they ran.
	Rounds []Round `json:"rounds"`
}

// Ratio is normtap against the peer for one norm.
type Ratio struct {
	Norm graph.Norm `json:"norm"`
	// NormtapMs and PeerMs are the medians over rounds of each round's
	// median step time. RoundRatios is normtap's examples/s ÷ the peer's
	// (same batch) in each round: the peer's median step ÷ normtap's, both
	// measured seconds apart. ExamplesPerSecRatio is the median of
	// RoundRatios: pairing each round's two sides cancels the changes of
	// the machine's speed between rounds, which a ratio of the two medians
	// (RatioOfMedians = PeerMs / NormtapMs, also reported) does not.
	NormtapMs           float64   `json:"normtap_ms_per_step"`
	PeerMs              float64   `json:"peer_ms_per_step"`
	ExamplesPerSecRatio float64   `json:"examples_per_sec_ratio"`
	RatioOfMedians      float64   `json:"ratio_of_medians"`
	RoundRatios         []float64 `json:"round_ratios"`
}

// Round is one round's median step times in ms per norm.
type Round struct {
	NormtapMs map[graph.Norm]float64 `json:"normtap_ms_per_step_median"`
	PeerMs    map[graph.Norm]float64 `json:"peer_ms_per_step_median"`
}

// joinNorms writes none,batch,layer.
func joinNorms(norms []graph.Norm) string {
	names := make([]string, len(norms))
	for i, n := range norms {
		names[i] = n.String()
	}
	return strings.Join(names, ",")
}

// peerArgs are the flags peer.py takes for the configuration of o.
func peerArgs(o *Options) []string {
	threads := o.PeerThreads
	if threads == 0 {
		threads = o.Threads
	}
	return []string{"--device", o.PeerDevice, "--model", o.Spec.Model.String(), "--norm", joinNorms(o.Norms), "--hidden", joinInts(o.Spec.Hidden),
		"--batch", strconv.Itoa(o.Batch), "--steps", strconv.Itoa(o.Steps), "--warmup", strconv.Itoa(o.Warmup),
		"--threads", strconv.Itoa(threads), "--seed", strconv.FormatUint(o.Seed, 10),
		"--groups", strconv.Itoa(o.Spec.Groups), "--blocks", strconv.Itoa(max(o.Spec.Blocks, 1))}
}

// DefaultPeerTimeout bounds one run of the peer: peer.py at bench's
// defaults takes well under a minute.
const DefaultPeerTimeout = 10 * time.Minute

// runPeer runs the peer command with o's configuration and reads its JSON.
// A peer that outlives o.PeerTimeout is killed and named.
func runPeer(ctx context.Context, o *Options) (*PeerRun, error) {
	argv := append(append([]string{}, o.PeerCommand...), peerArgs(o)...)
	timeout := o.PeerTimeout
	if timeout <= 0 {
		timeout = DefaultPeerTimeout
	}
	peerCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(peerCtx, argv[0], argv[1:]...)
	ownProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second // a child left holding the pipes does not hang us either
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if peerCtx.Err() != nil {
			return nil, fmt.Errorf("peer %s did not finish within %v (--peer-timeout); it was stopped", strings.Join(o.PeerCommand, " "), timeout)
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("peer %s: %v: %s", strings.Join(o.PeerCommand, " "), err, msg)
	}
	var run PeerRun
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
		return nil, fmt.Errorf("peer %s: reading its JSON: %w", strings.Join(o.PeerCommand, " "), err)
	}
	if len(run.Results) == 0 {
		return nil, fmt.Errorf("peer %s printed no results", strings.Join(o.PeerCommand, " "))
	}
	return &run, nil
}

// summarizePeer takes the median over rounds of each peer field and
// compares with normtap's results.
func summarizePeer(o *Options, runs []*PeerRun, normtapRounds []map[graph.Norm]float64, ours []Result) *Peer {
	p := &Peer{Command: strings.Join(o.PeerCommand, " "), Tool: runs[0].Tool, Version: runs[0].Version, Threads: runs[0].Threads, BLAS: runs[0].BLAS}
	p.BLAS.CoreType = os.Getenv("OPENBLAS_CORETYPE")
	for _, norm := range o.Norms {
		var ms, p10, p90, fwd []float64
		var last Result
		for _, run := range runs {
			for _, r := range run.Results {
				if r.Norm == norm {
					ms, p10, p90, fwd = append(ms, r.MsPerStepMedian), append(p10, r.MsPerStepP10), append(p90, r.MsPerStepP90), append(fwd, r.ForwardMsMedian)
					last = r
				}
			}
		}
		if len(ms) == 0 {
			continue
		}
		r := last
		r.MsPerStepMedian, r.MsPerStepP10, r.MsPerStepP90, r.ForwardMsMedian = median(ms), median(p10), median(p90), median(fwd)
		r.ExamplesPerSec = float64(r.Batch) / (r.MsPerStepMedian / 1e3)
		r.Steps = 0
		for range runs {
			r.Steps += o.Steps
		}
		r.NormOverhead = nil
		p.Results = append(p.Results, r)
	}
	var peerRounds []map[graph.Norm]float64
	for i, run := range runs {
		rd := Round{NormtapMs: normtapRounds[i], PeerMs: map[graph.Norm]float64{}}
		for _, r := range run.Results {
			rd.PeerMs[r.Norm] = r.MsPerStepMedian
		}
		p.Rounds = append(p.Rounds, rd)
		peerRounds = append(peerRounds, rd.PeerMs)
	}
	setOverheads(p.Results, peerRounds)
	for _, our := range ours {
		var a, b []float64
		ra := Ratio{Norm: our.Norm}
		for _, rd := range p.Rounds {
			if x, y := rd.NormtapMs[our.Norm], rd.PeerMs[our.Norm]; x > 0 && y > 0 {
				a, b = append(a, x), append(b, y)
				ra.RoundRatios = append(ra.RoundRatios, y/x)
			}
		}
		if len(a) == 0 {
			continue
		}
		ra.NormtapMs, ra.PeerMs = median(a), median(b)
		ra.ExamplesPerSecRatio, ra.RatioOfMedians = median(ra.RoundRatios), ra.PeerMs/ra.NormtapMs
		p.Ratios = append(p.Ratios, ra)
	}
	return p
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
