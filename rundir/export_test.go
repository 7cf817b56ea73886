package rundir

// Test-only entry points.

// WriteTap writes one tap into dir, reading and rewriting its index; see
// TapWriter.Write. A trainer that taps often should keep a TapWriter.
func WriteTap(dir string, e TapEntry, data []float32) error {
	w, err := OpenTapWriter(dir)
	if err != nil {
		return err
	}
	return w.Write(e, data)
}
