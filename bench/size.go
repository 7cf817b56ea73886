package bench

import (
	"fmt"

	"normtap/graph"
)

// MaxModelBytes bounds the memory a model and its activations may take in
// bench and nodes: beyond it a flag such as --hidden 65536,65536 would end
// the process out of memory instead of with an error.
const MaxModelBytes = 8 << 30

// ModelBytes estimates, from above, the float32 memory spec takes at batch:
// each parameter four times (value, gradient, two optimizer moments) and
// each activation four times (value, gradient, the norm's and the
// activation's own), a conv layer's activations counted at full image size
// (no pooling).
func ModelBytes(spec graph.Spec, batch int) float64 {
	var params, acts float64
	prev := float64(spec.InFeatures())
	if spec.Model == graph.ModelCNN || spec.Model == graph.ModelResNet {
		// a 3x3 conv per CNN block; per resnet stage, one into its width
		// and two per residual block
		convs := 1
		if spec.Model == graph.ModelResNet {
			convs += 2 * spec.Blocks
		}
		prev = float64(spec.InChannels)
		pixels := float64(spec.InRows * spec.InCols)
		for _, c := range spec.Hidden {
			params += prev*float64(c)*9 + float64(convs-1)*float64(c)*float64(c)*9 + 3*float64(convs)*float64(c)
			acts += float64(convs*c) * pixels
			prev = float64(c)
		}
		prev *= pixels // the CNN flattens (the resnet pools: fewer)
	} else {
		for _, h := range spec.Hidden {
			params += prev*float64(h) + 3*float64(h)
			acts += float64(h)
			prev = float64(h)
		}
	}
	params += prev*float64(spec.Classes) + float64(spec.Classes)
	acts += float64(spec.Classes)
	return 4 * 4 * (params + float64(batch)*acts)
}

// CheckModelSize refuses a model whose ModelBytes exceeds MaxModelBytes,
// naming the flags that size it.
func CheckModelSize(spec graph.Spec, batch int) error {
	if b := ModelBytes(spec, batch); b > MaxModelBytes {
		return fmt.Errorf("--hidden %s with --batch %d needs about %.0f GB for the model and its activations; at most %d GB: use smaller widths or batches",
			graph.JoinInts(spec.Hidden), batch, b/(1<<30), MaxModelBytes>>30)
	}
	return nil
}
