package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"normtap/graph"
	"normtap/rundir"
)

// editHeader rewrites the JSON header of the checkpoint in raw with edit
// and recomputes the checksum, as a careful hand editing the file would.
func editHeader(t *testing.T, raw []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint64(raw[len(checkpointMagic):]))
	start := len(checkpointMagic) + 8
	var h map[string]any
	if err := json.Unmarshal(raw[start:start+n], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	head, _ := json.Marshal(h)
	var b bytes.Buffer
	b.Write(raw[:len(checkpointMagic)])
	binary.Write(&b, binary.LittleEndian, uint64(len(head)))
	b.Write(head)
	b.Write(raw[start+n : len(raw)-4])
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crcTable))
	return b.Bytes()
}

// TestCheckpointIsVerified: a checkpoint records its run's config; a
// flipped bit, a truncation, an edited header (checksum fixed up) or a
// checkpoint copied from another run is refused with one line naming the
// file and what is wrong, before anything is restored.
func TestCheckpointIsVerified(t *testing.T) {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.Epochs, cfg.TrainLimit, cfg.Taps = 2, 640, TapConfig{Mode: rundir.ModeProbe, Examples: 1}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Out, other.Seed = filepath.Join(t.TempDir(), "other"), 6
	if _, err := Run(context.Background(), other, Options{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.Out, rundir.CheckpointDir, checkpointFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := decodeCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := rundir.Diff(ck.state.Config, cfg); len(diffs) != 0 || ck.state.Config.Seed != 5 || ck.state.Config.Spec.Norm != graph.NormBatch {
		t.Fatalf("the checkpoint's config is not the run's: %+v (differences %v)", ck.state.Config, diffs)
	}
	// verify is what a resume does before restoring anything
	verify := func(path string) error {
		ck, err := decodeCheckpoint(path)
		if err != nil {
			return err
		}
		return ck.check(cfg, cfg.TrainLimit, cfg.TrainLimit/cfg.Batch)
	}
	foreign, _ := os.ReadFile(filepath.Join(other.Out, rundir.CheckpointDir, checkpointFile))
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	set := func(key string, v any) []byte {
		return editHeader(t, good, func(h map[string]any) { h[key] = v })
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"flipped bit", flipped, "checksum does not match"},
		{"truncated", good[:len(good)-100], "checksum does not match"},
		{"not a checkpoint", []byte("hello"), "not a normtap checkpoint"},
		{"another run's", foreign, "belongs to another run (--seed: 6 in the checkpoint, 5 now)"},
		{"epoch beyond --epochs", set("epoch", 99), "epoch 99, want 0 to --epochs 2"},
		{"negative epoch", set("epoch", -1), "epoch -1"},
		{"position beyond the epoch", set("pos", 1000000), "position 1000000 in the epoch, want 0 to 20 batches"},
		{"step off", set("step", 7), "step 7 does not follow"},
		{"optimizer step off", set("opt_step", 3), "optimizer step 3"},
		{"metrics dropped", set("metrics", []any{}), "0 metrics rows after 2 epochs"},
		{"right answers", set("epoch_right", 641), "641 right answers in an epoch of 20 batches of 32"},
		{"shuffle state", set("shuffle_rng", "AAAA"), "shuffle state"},
		{"tensor length", editHeader(t, good, func(h map[string]any) {
			h["tensors"].([]any)[0].(map[string]any)["len"] = 1 << 40
		}), "does not fit in the file"},
		{"header config", editHeader(t, good, func(h map[string]any) {
			h["config"].(map[string]any)["train_limit"] = 600
		}), "--train-limit: 600 in the checkpoint, 640 now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			err := verify(path)
			if tc.name == "flipped bit" { // once through the whole resume
				resume := cfg
				resume.Resume = true
				_, err = Run(context.Background(), resume, Options{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("resume: %v\nwant one line naming %s and saying %q", err, path, tc.want)
			}
		})
	}
	// the good checkpoint still resumes (the finished run stays finished)
	os.WriteFile(path, good, 0o644)
	resume := cfg
	resume.Resume = true
	res, err := Run(context.Background(), resume, Options{})
	if err != nil || len(res.Metrics) != 2 {
		t.Fatalf("resume of the untouched checkpoint: %v", err)
	}
}
