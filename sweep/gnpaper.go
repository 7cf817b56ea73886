package sweep

import (
	"fmt"
	"strconv"

	"normtap/graph"
)

// Wu & He (2018), "Group Normalization", Fig. 1 and Table 3 at MNIST
// scale: normtap's CNN with each norm at batch sizes 2 to 64, every run
// seeing the same number of examples, the learning rate scaled linearly
// with the batch size (Goyal et al.'s rule, which the paper uses: 0.1 per
// 256 examples, SGD with momentum 0.9).
var (
	GNPaperBatches = []int{2, 4, 8, 16, 32, 64}
	GNPaperNorms   = []string{"batch", "group", "layer"}
)

// GNPaperCNNGroups is GroupNorm's group count in the CNN: 2 and 4
// channels per group in its 16- and 32-channel blocks, like the paper's
// G = 32 on ResNet-50's first, 64-channel stage (the MLP keeps the default
// 32: 8 units per group).
const GNPaperCNNGroups = 8

// GNPaperLRPer256 is the learning rate per 256 examples of a batch.
const GNPaperLRPer256 = 0.1

// GNPaperLR is the learning rate at batch size b.
func GNPaperLR(b int) float64 { return GNPaperLRPer256 * float64(b) / 256 }

// GNPaperOptions size the study.
type GNPaperOptions struct {
	Root       string
	Seeds      int // seeds 1..Seeds
	TrainLimit int // examples per epoch
	Epochs     int // the same for every batch size: the same examples seen
	// Model is "cnn" (the paper's setting: statistics over the batch and
	// the feature map) or "mlp" (784-256-256-10: BatchNorm's statistics
	// over the batch alone).
	Model string
	Fixed []string // more train flags (--device, --dataset)
}

// GNPaperQuick and GNPaperFull are the sizes of --quick and of the full run.
var (
	GNPaperQuick = GNPaperOptions{Seeds: 2, TrainLimit: 2048, Epochs: 1}
	GNPaperFull  = GNPaperOptions{Seeds: 2, TrainLimit: 12000, Epochs: 2}
)

// AvailableNorms lists those of norms the CNN accepts in this build
// (graph.Spec.Validate), and the ones it does not.
func AvailableNorms(norms []string) (ok, missing []string) {
	for _, name := range norms {
		n, err := graph.ParseNorm(name)
		s := graph.DefaultSpec()
		s.Model, s.Hidden = graph.ModelCNN, []int{16, 32}
		if err == nil {
			s.Norm = n
			err = s.Validate()
		}
		if err != nil {
			missing = append(missing, name)
			continue
		}
		ok = append(ok, name)
	}
	return ok, missing
}

// GNPaperSpec is the study as a sweep over norm, batch and seed, with the
// learning rate of each run set from its batch size.
func GNPaperSpec(o GNPaperOptions, norms []string) Spec {
	batches := make([]string, len(GNPaperBatches))
	for i, b := range GNPaperBatches {
		batches[i] = strconv.Itoa(b)
	}
	seeds := make([]string, o.Seeds)
	for i := range seeds {
		seeds[i] = strconv.Itoa(i + 1)
	}
	model := []string{"--model", "cnn"}
	if o.Model == "mlp" {
		model = []string{"--model", "mlp", "--hidden", "256,256"}
	}
	fixed := append(model, "--opt", "momentum", "--momentum", "0.9",
		"--epochs", strconv.Itoa(o.Epochs), "--train-limit", strconv.Itoa(o.TrainLimit),
		"--checkpoint-every-steps", "500")
	fixed = append(fixed, o.Fixed...)
	return Spec{
		Root:  o.Root,
		Axes:  []Axis{{Flag: "norm", Values: norms}, {Flag: "batch", Values: batches}, {Flag: "seed", Values: seeds}},
		Fixed: fixed,
		PerRun: func(values []string) []string {
			b, _ := strconv.Atoi(values[1])
			extra := []string{"--lr=" + strconv.FormatFloat(GNPaperLR(b), 'g', -1, 64)}
			if values[0] == "group" && o.Model != "mlp" {
				extra = append(extra, "--groups="+strconv.Itoa(GNPaperCNNGroups))
			}
			return extra
		},
	}
}

// GNPaperRule states the study's rule in one line, for logs and captions.
func GNPaperRule(o GNPaperOptions) string {
	model := "CNN"
	if o.Model == "mlp" {
		model = "MLP 784-256-256-10"
	}
	return fmt.Sprintf("%s, SGD momentum 0.9, lr = %g × batch/256 (%g at 64), %d examples × %d epochs at every batch size, seeds 1..%d",
		model, GNPaperLRPer256, GNPaperLR(64), o.TrainLimit, o.Epochs, o.Seeds)
}
