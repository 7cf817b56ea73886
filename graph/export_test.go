package graph

// Test-only entry points.

// ShiftedGrads returns, for each weighted layer i in graph order, its name,
// G_i and G′_i as defined at the top of measure.go (G′_0 = G_0: no layer
// comes before the first). It changes no training state, as Measure.
func ShiftedGrads(m Machine, x, labels []float32) (names []string, g, gShifted [][]float32, err error) {
	s, err := newSession(m, x, labels)
	if err != nil {
		return nil, nil, nil, err
	}
	names, g, gShifted, err = s.shiftedGrads()
	if rerr := s.restore(); err == nil {
		err = rerr
	}
	return names, g, gShifted, err
}

// shiftedGrads runs the pass at the start and computes G′ from its
// gradients.
func (s *session) shiftedGrads() ([]string, [][]float32, [][]float32, error) {
	if _, err := s.pass(); err != nil {
		return nil, nil, nil, err
	}
	g, err := s.grads(nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.shiftedFrom(g)
}
