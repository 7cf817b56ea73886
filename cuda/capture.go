//go:build gpu

package cuda

import "fmt"

// Graph is work captured from the device's stream once and replayed with
// one call (a CUDA graph: cuStreamBeginCapture, cuGraphInstantiate,
// cuGraphLaunch): a training step's dozens of launches then cost one
// launch of host time instead of one each.
type Graph struct {
	d      *Device
	g      graphExec
	closed bool
}

// Capture records the work queue queues on the stream, without running
// it, into a Graph. queue must only queue device work: launches, device
// copies and fills, no Upload, Download or Sync (the driver refuses them
// while capturing, and so does the emulator), and it must already have run
// once uncaptured, so that the scratch memory it needs is allocated (a
// capture cannot allocate). Debug checks are off while capturing; the
// graph's launches are checked when it is replayed in debug mode.
func (d *Device) Capture(queue func() error) (*Graph, error) {
	if d.closed {
		return nil, fmt.Errorf("cuda: capture: device is closed")
	}
	debug := d.Debug
	d.Debug = false
	defer func() { d.Debug = debug }()
	scratch := d.scratch
	if err := d.drv.beginCapture(); err != nil {
		return nil, fmt.Errorf("cuda: begin capture: %w", err)
	}
	qerr := queue()
	g, err := d.drv.endCapture()
	if qerr != nil {
		if err == nil {
			d.drv.destroyGraph(g)
		}
		return nil, fmt.Errorf("cuda: capture: %w", qerr)
	}
	if err != nil {
		return nil, fmt.Errorf("cuda: end capture: %w", err)
	}
	if d.scratch != scratch {
		d.drv.destroyGraph(g)
		return nil, fmt.Errorf("cuda: capture: the captured work grew the scratch memory: run it once before capturing")
	}
	return &Graph{d: d, g: g}, nil
}

// Launch queues one replay of the graph on the stream.
func (g *Graph) Launch() error {
	if g.closed || g.d.closed {
		return fmt.Errorf("cuda: graph launch: graph or device closed")
	}
	if err := g.d.drv.launchGraph(g.g); err != nil {
		return fmt.Errorf("cuda: graph launch: %w", err)
	}
	if g.d.Debug {
		if err := g.d.drv.sync(); err != nil {
			return fmt.Errorf("cuda: graph: %w", err)
		}
	}
	return nil
}

// Close frees the graph.
func (g *Graph) Close() error {
	if g.closed || g.d.closed {
		return nil
	}
	g.closed = true
	return g.d.drv.destroyGraph(g.g)
}
