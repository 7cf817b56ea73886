//go:build gpu

package layers

import (
	"fmt"

	"normtap/cuda"
)

// GPUBinder is Binder's twin on the GPU executor (gpu build): BindGPU
// prepares the op's launches once on fixed device buffers — out is the
// node's output, in its inputs', in the op's input order — and returns the
// call that queues them on the device's stream every step, never waiting
// and never allocating. BindGPU itself may allocate scratch and the state
// a forward op shares with its backward ops through s.
type GPUBinder interface {
	Kernel
	BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error)
}

// GPUState is what one GPU executor keeps for the ops it binds: the
// device, the state a forward op shares with its backward ops (a norm's
// statistics, a convolution's columns, a max-pool's indices, the softmax),
// the executor's scalar constants, and device copies of host state (the
// BatchNorm running statistics) that the executor syncs with the host.
type GPUState struct {
	Dev *cuda.Device
	// Metrics, when not the zero Buffer, is where the loss op's forward
	// pass accumulates [Σ loss, right answers] (2 floats): set it before
	// binding; the executor zeroes and reads it.
	Metrics cuda.Buffer
	shared  map[any]any
	consts  map[cuda.Buffer]float32
	mirrors []gpuMirror
}

type gpuMirror struct {
	host []float32
	dev  cuda.Buffer
}

// NewGPUState returns an empty state on d.
func NewGPUState(d *cuda.Device) *GPUState {
	return &GPUState{Dev: d, shared: map[any]any{}, consts: map[cuda.Buffer]float32{}}
}

// Alloc returns a device buffer of n floats (at least 1).
func (s *GPUState) Alloc(n int) (cuda.Buffer, error) { return s.Dev.Alloc(max(n, 1)) }

// allocAll returns one buffer of each size.
func (s *GPUState) allocAll(sizes ...int) ([]cuda.Buffer, error) {
	out := make([]cuda.Buffer, len(sizes))
	for i, n := range sizes {
		b, err := s.Alloc(n)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// Constant returns a device buffer holding the scalar v and remembers v,
// so that ops reading a constant input (the loss gradient's seed) can ask
// for its value (ConstantOf).
func (s *GPUState) Constant(v float32) (cuda.Buffer, error) {
	b, err := s.Alloc(1)
	if err != nil {
		return b, err
	}
	if err := s.Dev.Upload(b, []float32{v}); err != nil {
		return b, err
	}
	s.consts[b] = v
	return b, nil
}

// ConstantOf is the value of a buffer made by Constant.
func (s *GPUState) ConstantOf(b cuda.Buffer) (float32, bool) {
	v, ok := s.consts[b]
	return v, ok
}

// Mirror returns the device copy of the host slice host (the same buffer
// for the same slice). The executor uploads every mirror in LoadHost and
// downloads it in SyncHost.
func (s *GPUState) Mirror(host []float32) (cuda.Buffer, error) {
	for _, m := range s.mirrors {
		if len(m.host) == len(host) && (len(host) == 0 || &m.host[0] == &host[0]) {
			return m.dev, nil
		}
	}
	b, err := s.Alloc(len(host))
	if err != nil {
		return b, err
	}
	s.mirrors = append(s.mirrors, gpuMirror{host: host, dev: b})
	return b, nil
}

// LoadHost uploads every mirror from its host slice.
func (s *GPUState) LoadHost() error {
	for _, m := range s.mirrors {
		if err := s.Dev.Upload(m.dev, m.host); err != nil {
			return err
		}
	}
	return nil
}

// SyncHost downloads every mirror into its host slice.
func (s *GPUState) SyncHost() error {
	for _, m := range s.mirrors {
		if err := s.Dev.Download(m.host, m.dev); err != nil {
			return err
		}
	}
	return nil
}

// sharedOf returns the state stored under key (a forward op), making it
// with mk the first time.
func sharedOf[T any](s *GPUState, key any, mk func() (T, error)) (T, error) {
	if v, ok := s.shared[key]; ok {
		return v.(T), nil
	}
	v, err := mk()
	if err != nil {
		return v, err
	}
	s.shared[key] = v
	return v, nil
}

// boundOf returns the state a backward op's forward op stored under key,
// or an error when the forward op has not been bound.
func boundOf[T any](s *GPUState, key any, what string) (T, error) {
	v, ok := s.shared[key].(T)
	if !ok {
		return v, fmt.Errorf("its %s has not been bound", what)
	}
	return v, nil
}
