//go:build gpu

package cuda

import (
	"embed"
	"fmt"

	"normtap/cuda/internal/ptxsig"
)

// The PTX that `make ptx` compiles from kernels/*.cu; `make ptx-check`
// fails when it is older than its source.
//
//go:embed kernels/*.ptx
var ptxFiles embed.FS

// kernel names one kernel of the embedded PTX. The constants (kGemmNn128,
// kIm2col3x3, …) and kernelTable are generated from the PTX by
// internal/kernelgen (`go generate ./cuda`; its test fails when they are
// stale), so a launch names a kernel that exists, and Device.launch checks
// its arguments against the kernel's parameters.
type kernel int

// kernelInfo is one kernel as its PTX declares it.
type kernelInfo struct {
	name       string
	file       string // the PTX file under kernels/
	params     string // kinds: p pointer, i int, f float (ptxsig)
	maxThreads int    // __launch_bounds__ threads; 0: none declared
}

func (k kernel) String() string {
	if k < 0 || k >= numKernels {
		return fmt.Sprintf("kernel(%d)", int(k))
	}
	return kernelTable[k].name
}

// defaultMaxThreads is the most threads a block of a kernel without
// __launch_bounds__ may have: the compiler assumes up to 1024 and may then
// spend registers that would not let 1024 run, so such kernels are
// launched with at most 256 (checked by Device.launch).
const defaultMaxThreads = 256

// threadLimit is the largest block Device.launch allows for k.
func (k kernel) threadLimit() int {
	if t := kernelTable[k].maxThreads; t > 0 {
		return t
	}
	return defaultMaxThreads
}

// ptxModules returns the embedded PTX files with their kernels, in table
// order, after checking that each file declares exactly the kernels the
// table lists, with the same parameters and launch bounds: a table left
// stale by an edited kernel fails Open instead of a launch.
func ptxModules() ([]ptxModule, error) {
	var mods []ptxModule
	index := map[string]int{}
	for k := range numKernels {
		f := kernelTable[k].file
		i, ok := index[f]
		if !ok {
			i = len(mods)
			index[f] = i
			mods = append(mods, ptxModule{file: f})
		}
		mods[i].kernels = append(mods[i].kernels, k)
	}
	files, err := ptxFiles.ReadDir("kernels")
	if err != nil {
		return nil, fmt.Errorf("embedded kernels: %w", err)
	}
	for _, f := range files {
		if _, ok := index[f.Name()]; !ok {
			return nil, fmt.Errorf("embedded kernels/%s has no kernel in the generated table: run go generate ./cuda", f.Name())
		}
	}
	for i := range mods {
		m := &mods[i]
		src, err := ptxFiles.ReadFile("kernels/" + m.file)
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", m.file, err)
		}
		m.ptx = string(src)
		entries, err := ptxsig.Parse(m.ptx)
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", m.file, err)
		}
		if len(entries) != len(m.kernels) {
			return nil, fmt.Errorf("embedded %s declares %d kernels, the generated table %d: run go generate ./cuda", m.file, len(entries), len(m.kernels))
		}
		for j, e := range entries {
			t := kernelTable[m.kernels[j]]
			if e.Name != t.name || e.Params != t.params || e.MaxThreads != t.maxThreads {
				return nil, fmt.Errorf("embedded %s: kernel %s(%s) bounds %d, the generated table has %s(%s) bounds %d: run go generate ./cuda",
					m.file, e.Name, e.Params, e.MaxThreads, t.name, t.params, t.maxThreads)
			}
		}
	}
	return mods, nil
}

type ptxModule struct {
	file    string
	ptx     string
	kernels []kernel
}
