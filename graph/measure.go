package graph

import (
	"fmt"
	"math"
	"slices"
)

// This file measures two things Santurkar et al. (2018, "How Does Batch
// Normalization Help Optimization?") use to test the covariate-shift story
// of BatchNorm, on any Machine, without changing the training it measures:
//
//   - internal covariate shift (ICS) of layer i at step t: G = ∇_{W_i}L on
//     step t's batch, G′ = the same gradient on the same batch after the
//     layers before i took their step-t update (layer i and the layers
//     after it unchanged); reported as ‖G−G′‖₂ and cos(G, G′);
//   - the loss landscape along the step-t gradient g: L(w−ηg) and
//     ∇L(w−ηg) for a set of step sizes η, summarised as the loss band
//     (min and max of L), gradient predictiveness (max ‖∇L(w)−∇L(w−ηg)‖₂)
//     and effective β-smoothness (max ‖∇L(w)−∇L(w−ηg)‖₂ / ‖ηg‖₂).
//
// Measure only uses the Machine interface (Backward, Grad, PeekUpdate,
// SyncParams, LoadParams), so the GPU machine gets it for free.

// MeasureSpec says what Measure measures.
type MeasureSpec struct {
	ICS  bool      // internal covariate shift of every weighted layer
	Etas []float64 // step sizes of the landscape probe; empty: no landscape
}

// ICSLayer is the internal covariate shift of one weighted layer.
type ICSLayer struct {
	Layer  string  // the weight's name: h2.W, out.W, c1.W
	L2     float64 // ‖G−G′‖₂
	Cos    float64 // cos(G, G′) in [−1, 1]; 1 when G = G′ = 0, 0 when only one is 0
	GradL2 float64 // ‖G‖₂, to read L2 relative to the gradient's size
}

// Landscape is the loss along the step's gradient g.
type Landscape struct {
	Loss      float64   // L(w) on the batch
	GradL2    float64   // ‖g‖₂ over every parameter
	Etas      []float64 // the step sizes probed
	Losses    []float64 // L(w−ηg) for each η
	GradDiffs []float64 // ‖g − ∇L(w−ηg)‖₂ for each η
	LossMin   float64   // min over η of L(w−ηg)
	LossMax   float64   // max over η of L(w−ηg)
	GradPred  float64   // max over η of GradDiffs: gradient predictiveness
	// BetaSmooth is the max over η > 0 of ‖g − ∇L(w−ηg)‖₂ / ‖ηg‖₂, the
	// effective β-smoothness; 0 when no η moves w (η = 0 or g = 0).
	BetaSmooth float64
}

// Measurement is what Measure found at one step.
type Measurement struct {
	Loss      float32    // L(w) on the batch, in the machine's mode
	ICS       []ICSLayer // in graph order; nil unless MeasureSpec.ICS
	Landscape *Landscape // nil without MeasureSpec.Etas
}

// Measure measures what spec asks on the batch (x, labels) at the
// machine's current parameters, in its current mode: call it just before
// the Step it measures, with that step's batch.
//
// It never changes training: the parameters, the optimizer state, the
// BatchNorm running statistics, the norm-noise draws and the loss op's
// softmax are the same after it as before, bit for bit, and every pass it
// makes sees the noise the real step will see. It does overwrite the
// machine's activations and gradients (the next Step recomputes them).
//
// Cost, in forward+backward passes of the batch: 1, plus one per weighted
// layer after the first with ICS, plus one per η with a landscape.
func Measure(m Machine, x, labels []float32, spec MeasureSpec) (*Measurement, error) {
	s, err := newSession(m, x, labels)
	if err != nil {
		return nil, err
	}
	res, err := s.measure(spec)
	if rerr := s.restore(); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// session holds what a measurement must put back, and the layer structure
// of the model.
type session struct {
	m      Machine
	model  *Model
	x, lab []float32
	params [][]float32 // the parameters at the start
	bnMean [][]float32
	bnVar  [][]float32
	draws  []uint64
	probs  []float32
	// layerOf[i] is the index of parameter i's layer (Param.Layer) in
	// graph order; weights[k] is the parameter index of
	// the k-th weighted layer's W.
	layerOf []int
	weights []int
}

func newSession(m Machine, x, labels []float32) (*session, error) {
	if err := m.SyncParams(); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	model := m.Model()
	s := &session{m: m, model: model, x: x, lab: labels, probs: slices.Clone(model.LossOp.Probs())}
	for _, p := range model.Params {
		s.params = append(s.params, slices.Clone(p.Value))
	}
	for _, l := range model.BN {
		s.bnMean = append(s.bnMean, slices.Clone(l.State.RunningMean))
		s.bnVar = append(s.bnVar, slices.Clone(l.State.RunningVar))
	}
	for _, l := range model.Noise {
		s.draws = append(s.draws, l.State.Draws)
	}
	index := map[string]int{}
	for i, p := range model.Params {
		k, ok := index[p.Layer]
		if !ok {
			k = len(index)
			index[p.Layer] = k
		}
		s.layerOf = append(s.layerOf, k)
		if p.Weight {
			s.weights = append(s.weights, i)
		}
	}
	return s, nil
}

// rewind puts back the running statistics and noise draws on the host.
func (s *session) rewind() {
	for i, l := range s.model.BN {
		copy(l.State.RunningMean, s.bnMean[i])
		copy(l.State.RunningVar, s.bnVar[i])
	}
	for i, l := range s.model.Noise {
		l.State.Draws = s.draws[i]
	}
}

// pass runs forward and backward at the parameters now in Param.Value,
// from the running statistics and noise draws of the start.
func (s *session) pass() (float32, error) {
	s.rewind()
	if err := s.m.LoadParams(); err != nil {
		return 0, fmt.Errorf("measure: %w", err)
	}
	loss, _, err := s.m.Backward(s.x, s.lab)
	if err != nil {
		return 0, fmt.Errorf("measure: %w", err)
	}
	return loss, nil
}

// restore puts every parameter and state back as it was.
func (s *session) restore() error {
	for i, p := range s.model.Params {
		copy(p.Value, s.params[i])
	}
	s.rewind()
	copy(s.model.LossOp.Probs(), s.probs)
	if err := s.m.LoadParams(); err != nil {
		return fmt.Errorf("measure: restore: %w", err)
	}
	return nil
}

// grads copies the gradient of every parameter from the last pass.
func (s *session) grads(dst [][]float32) ([][]float32, error) {
	if dst == nil {
		dst = make([][]float32, len(s.params))
		for i, p := range s.params {
			dst[i] = make([]float32, len(p))
		}
	}
	for i := range dst {
		if err := s.m.Grad(i, dst[i]); err != nil {
			return nil, fmt.Errorf("measure: %w", err)
		}
	}
	return dst, nil
}

func (s *session) measure(spec MeasureSpec) (*Measurement, error) {
	loss, err := s.pass()
	if err != nil {
		return nil, err
	}
	g, err := s.grads(nil)
	if err != nil {
		return nil, err
	}
	res := &Measurement{Loss: loss}
	if spec.ICS {
		names, gw, gShifted, err := s.shiftedFrom(g)
		if err != nil {
			return nil, err
		}
		for k, name := range names {
			l2, cos := diffNorm(gw[k], gShifted[k]), cosine(gw[k], gShifted[k])
			res.ICS = append(res.ICS, ICSLayer{Layer: name, L2: l2, Cos: cos, GradL2: norm(gw[k])})
		}
	}
	if len(spec.Etas) > 0 {
		if res.Landscape, err = s.landscape(float64(loss), g, spec.Etas); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// shiftedFrom computes G′ of every weighted layer, given every parameter's
// gradient g at the start (the last pass must be the one at the start:
// PeekUpdate reads its gradients).
func (s *session) shiftedFrom(g [][]float32) (names []string, gw, gShifted [][]float32, err error) {
	params := s.model.Params
	updated := make([][]float32, len(params))
	for i, p := range params {
		updated[i] = make([]float32, len(p.Value))
		if err := s.m.PeekUpdate(i, updated[i]); err != nil {
			return nil, nil, nil, fmt.Errorf("measure: %w", err)
		}
	}
	for k, wi := range s.weights {
		names = append(names, params[wi].Name)
		gw = append(gw, g[wi])
		if k == 0 {
			gShifted = append(gShifted, slices.Clone(g[wi]))
			continue
		}
		// the layers before layer k's own layer take their update; the
		// rest stay at the start
		own := s.layerOf[wi]
		for i, p := range params {
			if s.layerOf[i] < own {
				copy(p.Value, updated[i])
			} else {
				copy(p.Value, s.params[i])
			}
		}
		if _, err := s.pass(); err != nil {
			return nil, nil, nil, err
		}
		gp := make([]float32, len(g[wi]))
		if err := s.m.Grad(wi, gp); err != nil {
			return nil, nil, nil, fmt.Errorf("measure: %w", err)
		}
		gShifted = append(gShifted, gp)
	}
	return names, gw, gShifted, nil
}

// landscape probes L and ∇L at w − ηg for each η.
func (s *session) landscape(loss float64, g [][]float32, etas []float64) (*Landscape, error) {
	ls := &Landscape{Loss: loss, GradL2: normAll(g), Etas: slices.Clone(etas),
		LossMin: math.Inf(1), LossMax: math.Inf(-1)}
	var gEta [][]float32
	for _, eta := range etas {
		e := float32(eta)
		for i, p := range s.model.Params {
			w, gi := s.params[i], g[i]
			for j := range p.Value {
				p.Value[j] = w[j] - e*gi[j]
			}
		}
		l, err := s.pass()
		if err != nil {
			return nil, err
		}
		if gEta, err = s.grads(gEta); err != nil {
			return nil, err
		}
		var sq float64
		for i := range g {
			for j, v := range g[i] {
				d := float64(v) - float64(gEta[i][j])
				sq += d * d
			}
		}
		diff := math.Sqrt(sq)
		ls.Losses = append(ls.Losses, float64(l))
		ls.GradDiffs = append(ls.GradDiffs, diff)
		ls.LossMin, ls.LossMax = math.Min(ls.LossMin, float64(l)), math.Max(ls.LossMax, float64(l))
		ls.GradPred = math.Max(ls.GradPred, diff)
		if step := math.Abs(eta) * ls.GradL2; step > 0 {
			ls.BetaSmooth = math.Max(ls.BetaSmooth, diff/step)
		}
	}
	return ls, nil
}

func norm(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func normAll(a [][]float32) float64 {
	var s float64
	for _, v := range a {
		n := norm(v)
		s += n * n
	}
	return math.Sqrt(s)
}

func diffNorm(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// cosine is cos(a, b) clamped to [−1, 1]: exactly 1 when a = b (also
// when both are zero), 0 when only one is zero.
func cosine(a, b []float32) float64 {
	if slices.Equal(a, b) {
		return 1
	}
	var dot float64
	for i, v := range a {
		dot += float64(v) * float64(b[i])
	}
	na, nb := norm(a), norm(b)
	switch {
	case na == 0 && nb == 0:
		return 1
	case na == 0 || nb == 0:
		return 0
	}
	return math.Max(-1, math.Min(1, dot/(na*nb)))
}
