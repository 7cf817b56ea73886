package train

import (
	"path/filepath"
	"testing"

	"normtap/rundir"
)

// TestCheckpointFileName: the checkpoint path other packages look for
// (rundir.CheckpointFile, e.g. a sweep deciding to --resume) is the one
// train writes.
func TestCheckpointFileName(t *testing.T) {
	if got := filepath.ToSlash(filepath.Join(rundir.CheckpointDir, checkpointFile)); got != rundir.CheckpointFile {
		t.Fatalf("train writes %s, rundir.CheckpointFile says %s", got, rundir.CheckpointFile)
	}
}
