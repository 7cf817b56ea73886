package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// FuzzTrainFlags feeds arbitrary command lines to the train and nodes
// flag parsing and config resolution (nothing runs): it must never panic,
// and a rejected line is a usage error or kong's parse error.
func FuzzTrainFlags(f *testing.F) {
	for _, s := range []string{
		"train --hidden 1024,1024 --norm batch",
		"train --hidden 32,x",
		"train --tap h1.act --tap-neuron all --tap-epochs 1,10,30",
		"train --tap-neuron -1 --tap-epochs all --batch 0",
		"train --model cnn --hidden 8,16,32 --lr=-3",
		"nodes --model cnn --hidden 4,4",
		"train --hidden ,,, --init-std 1e309",
		"train --eps 0 --bn-momentum 2 --tap-examples 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var cli CLI
		parser, err := kong.New(&cli, cliOptions, kong.Name("normtap"), kong.Exit(func(int) { panic(exitSignal{}) }))
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Fields(line)
		kctx, err := func() (k *kong.Context, err error) {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(exitSignal); !ok {
						panic(r)
					}
					err = errors.New("exit")
				}
			}()
			return parser.Parse(args)
		}()
		if err != nil {
			return
		}
		switch kctx.Command() {
		case "train":
			_, err = cli.Train.config()
		case "nodes":
			_, err = cli.Nodes.spec()
		default:
			return
		}
		var ue *UsageError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("%q: non-usage error %v", line, err)
		}
	})
}
