//go:build gpu

package cuda

import (
	"fmt"
	"strings"
)

// KernelAttributes is what the driver compiled one kernel to on this
// device (cuFuncGetAttribute), next to the largest block normtap launches
// it with.
type KernelAttributes struct {
	Name          string
	Registers     int // per thread
	LocalBytes    int // per thread: stack and register spills
	SharedBytes   int // static shared memory per block
	MaxThreads    int // the largest block the device can run it with
	LaunchThreads int // the largest block normtap launches it with
}

// KernelResources reads every kernel's attributes. It fails, naming each
// kernel, when a kernel cannot run with the block size normtap launches it
// with (too many registers for that block on this device), which would
// otherwise surface as a launch failure in the middle of a run.
func (d *Device) KernelResources() ([]KernelAttributes, error) {
	var out []KernelAttributes
	var bad []string
	for k := range numKernels {
		a, err := d.drv.attributes(k)
		if err != nil {
			return out, fmt.Errorf("cuda: attributes of %s: %w", k, err)
		}
		out = append(out, a)
		if a.MaxThreads < a.LaunchThreads {
			bad = append(bad, fmt.Sprintf("%s runs at most %d threads per block (%d registers), launched with up to %d",
				a.Name, a.MaxThreads, a.Registers, a.LaunchThreads))
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("cuda: %s", strings.Join(bad, "; "))
	}
	return out, nil
}
