//go:build gpu && !cudaemu

package cuda

// The driver API's stream capture and graphs, which gorgonia.org/cu v0.9.6
// does not wrap: a few direct calls into libcuda (already linked by cu), so
// the binary still links libcuda and nothing else from CUDA.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static CUresult normtapBeginCapture(CUstream s) {
	return cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}
static CUresult normtapEndCapture(CUstream s, CUgraphExec* exec) {
	CUgraph g;
	CUresult r = cuStreamEndCapture(s, &g);
	if (r != CUDA_SUCCESS) return r;
	r = cuGraphInstantiateWithFlags(exec, g, 0);
	cuGraphDestroy(g);
	return r;
}
static const char* normtapErrorString(CUresult r) {
	const char* s = 0;
	if (cuGetErrorString(r, &s) != CUDA_SUCCESS || !s) return "unknown CUDA error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

type graphExec struct{ exec C.CUgraphExec }

func cuErr(r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return fmt.Errorf("%s (CUresult %d)", C.GoString(C.normtapErrorString(r)), int(r))
}

// cuStream is the driver's handle of the stream (cu.Stream holds only it).
func (dr *driver) cuStream() C.CUstream { return *(*C.CUstream)(unsafe.Pointer(&dr.stream)) }

func (dr *driver) beginCapture() error {
	defer dr.enter()()
	return cuErr(C.normtapBeginCapture(dr.cuStream()))
}

func (dr *driver) endCapture() (graphExec, error) {
	defer dr.enter()()
	var g graphExec
	err := cuErr(C.normtapEndCapture(dr.cuStream(), &g.exec))
	return g, err
}

func (dr *driver) launchGraph(g graphExec) error {
	defer dr.enter()()
	return cuErr(C.cuGraphLaunch(g.exec, dr.cuStream()))
}

func (dr *driver) destroyGraph(g graphExec) error {
	defer dr.enter()()
	return cuErr(C.cuGraphExecDestroy(g.exec))
}
