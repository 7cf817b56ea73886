package main

import "normtap/graph"

// mlpDefaultHidden is --hidden's default, the MLP's widths; the CNN's
// default channel counts replace it when --model cnn leaves it unset.
const mlpDefaultHidden = "1024,1024"

// cnnDefaultHidden are the CNN's two conv channel counts by default.
var cnnDefaultHidden = []int{16, 32}

// resnetDefaultHidden are the resnet's stage widths by default.
var resnetDefaultHidden = []int{16, 32, 64}

// modelHidden reads --hidden for model: the comma-separated widths, or
// the CNN's default channel counts (or the resnet's widths) when the flag
// is left at the MLP's default. train, nodes and bench all read it here.
func modelHidden(model graph.ModelKind, hidden string) ([]int, error) {
	if model == graph.ModelCNN && hidden == mlpDefaultHidden {
		return append([]int(nil), cnnDefaultHidden...), nil
	}
	if model == graph.ModelResNet && hidden == mlpDefaultHidden {
		return append([]int(nil), resnetDefaultHidden...), nil
	}
	return parseInts("--hidden", hidden)
}
