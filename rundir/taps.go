package rundir

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"codeberg.org/sbinet/npyio/npy"
)

// TapEntry describes one tap: the activations of some columns of one node,
// over a set of examples, at one point of training.
type TapEntry struct {
	Node     string  `json:"node"` // e.g. "h2.act"
	Kind     TapKind `json:"kind"`
	Epoch    int     `json:"epoch"` // epoch number (1-based) for kind epoch; the epoch the step falls in for kind step
	Step     int     `json:"step"`  // global training step (number of optimizer steps done so far)
	File     string  `json:"file"`  // path relative to the run dir, e.g. "taps/h2.act/epoch-0001.npy"
	Mode     TapMode `json:"mode"`
	Examples int     `json:"examples"` // rows of the npy file
	Neurons  []int   `json:"neurons"`  // the node's column indices held by the npy columns, in order
}

// Index lists the taps of a run; it is taps/index.json.
type Index struct {
	Entries []TapEntry `json:"entries"`
}

// sameTap reports whether a and b are the same tap (one replaces the other).
func sameTap(a, b TapEntry) bool {
	return a.Node == b.Node && a.Kind == b.Kind && a.when() == b.when()
}

// when is the entry's position in its series: its epoch or its step.
func (e TapEntry) when() int {
	if e.Kind == KindEpoch {
		return e.Epoch
	}
	return e.Step
}

// compareTaps orders entries by node, kind and then epoch or step.
func compareTaps(a, b TapEntry) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.when(), b.when()))
}

// Nodes returns the tapped nodes, sorted.
func (ix *Index) Nodes() []string {
	var nodes []string
	for _, e := range ix.Entries {
		nodes = append(nodes, e.Node)
	}
	slices.Sort(nodes)
	return slices.Compact(nodes)
}

// Select returns node's taps of the given kind, ordered by epoch or step.
func (ix *Index) Select(node string, kind TapKind) []TapEntry {
	var out []TapEntry
	for _, e := range ix.Entries {
		if e.Node == node && e.Kind == kind {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareTaps)
	return out
}

// ReadIndex reads dir/taps/index.json.
func ReadIndex(dir string) (*Index, error) {
	path := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tap index: %w", err)
	}
	var ix Index
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for i, e := range ix.Entries {
		if err := checkEntry(e); err != nil {
			return nil, fmt.Errorf("read %s: entry %d: %w", path, i, err)
		}
	}
	return &ix, nil
}

// TapWriter writes taps into one run directory and keeps its index in
// memory, so that each tap costs one npy file and one index rewrite, not an
// index read. Add writes a tap's file and records it in memory; Flush
// rewrites the index, so a trainer that taps every step rewrites it only
// as often as it flushes. It is safe for concurrent use.
type TapWriter struct {
	dir   string
	mu    sync.Mutex
	index Index // sorted by compareTaps
	dirty bool  // index differs from taps/index.json
}

// OpenTapWriter returns a TapWriter for dir, starting from the index already
// there (a resumed run) or an empty one.
func OpenTapWriter(dir string) (*TapWriter, error) {
	w := &TapWriter{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err == nil {
		ix, err := ReadIndex(dir)
		if err != nil {
			return nil, err
		}
		w.index = *ix
		slices.SortStableFunc(w.index.Entries, compareTaps)
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("open tap index: %w", err)
	}
	return w, nil
}

// Index returns a copy of the index as last added to (Flush writes it).
func (w *TapWriter) Index() Index {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Index{Entries: slices.Clone(w.index.Entries)}
}

// Write writes one tap and rewrites the index: Add, then Flush.
func (w *TapWriter) Write(e TapEntry, data []float32) error {
	if err := w.Add(e, data); err != nil {
		return err
	}
	return w.Flush()
}

// Add writes one tap's npy file, atomically, and records it in the index
// in memory: data is row-major [e.Examples, len(e.Neurons)]. An empty
// e.File is set to EpochTapFile or StepTapFile. The entry replaces the one
// for the same node, kind and epoch (or step). The index on disk, rewritten
// by Flush, only ever lists files already written. The run directory must
// exist: Add makes taps/ and taps/<node>/ in it, never the directory itself.
func (w *TapWriter) Add(e TapEntry, data []float32) error {
	if e.File == "" {
		e.File = tapFile(e)
	}
	if err := checkEntry(e); err != nil {
		return fmt.Errorf("write tap %s: %w", e.File, err)
	}
	if len(data) != e.Examples*len(e.Neurons) {
		return fmt.Errorf("write tap %s: %d values, want %d examples × %d neurons", e.File, len(data), e.Examples, len(e.Neurons))
	}
	e.Neurons = slices.Clone(e.Neurons)
	for _, d := range []string{TapsDir, path.Dir(e.File)} {
		if err := os.Mkdir(filepath.Join(w.dir, filepath.FromSlash(d)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write tap: %w", err)
		}
	}
	if err := writeNpy(filepath.Join(w.dir, filepath.FromSlash(e.File)), data, e.Examples, len(e.Neurons)); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if i, found := slices.BinarySearchFunc(w.index.Entries, e, compareTaps); found {
		w.index.Entries[i] = e
	} else {
		w.index.Entries = slices.Insert(w.index.Entries, i, e)
	}
	w.dirty = true
	return nil
}

// Flush rewrites taps/index.json atomically when Add has changed the index
// since the last Flush.
func (w *TapWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty {
		return nil
	}
	buf, err := json.MarshalIndent(w.index, "", "  ")
	if err != nil {
		return fmt.Errorf("write tap index: %w", err)
	}
	if err := AtomicWriteFile(filepath.Join(w.dir, IndexFile), append(buf, '\n'), 0o644); err != nil {
		return err
	}
	w.dirty = false
	return nil
}

// WriteTap writes one tap into dir, reading and rewriting its index; see
// TapWriter.Write. A trainer that taps often should keep a TapWriter.
func WriteTap(dir string, e TapEntry, data []float32) error {
	w, err := OpenTapWriter(dir)
	if err != nil {
		return err
	}
	return w.Write(e, data)
}

// ReadTap reads the npy file of e: data is row-major [examples, neurons].
// It checks the file against e (dtype, shape, and its size against the
// shape) before allocating, and names the file when it does not match.
func ReadTap(dir string, e TapEntry) (data []float32, examples, neurons int, err error) {
	path := filepath.Join(dir, filepath.FromSlash(e.File))
	data, err = readNpy(path, e.Examples, len(e.Neurons))
	if err != nil {
		return nil, 0, 0, err
	}
	return data, e.Examples, len(e.Neurons), nil
}

func tapFile(e TapEntry) string {
	if e.Kind == KindStep {
		return StepTapFile(e.Node, e.Step)
	}
	return EpochTapFile(e.Node, e.Epoch)
}

// checkEntry reports what is wrong with e, if anything.
func checkEntry(e TapEntry) error {
	switch {
	case e.Node == "" || e.Node == "." || e.Node == ".." || strings.ContainsAny(e.Node, `/\`):
		return fmt.Errorf("bad node name %q", e.Node)
	case !e.Kind.Valid():
		return fmt.Errorf("node %s: no tap kind (want %s)", e.Node, tapKindNames.List())
	case !e.Mode.Valid():
		return fmt.Errorf("node %s: no tap mode (want %s)", e.Node, tapModeNames.List())
	case e.Epoch < 0 || e.Step < 0 || (e.Kind == KindEpoch && e.Epoch < 1):
		return fmt.Errorf("node %s: epoch %d, step %d", e.Node, e.Epoch, e.Step)
	case e.Examples < 1 || len(e.Neurons) < 1:
		return fmt.Errorf("node %s: %d examples × %d neurons, want at least one of each", e.Node, e.Examples, len(e.Neurons))
	case e.File != tapFile(e):
		return fmt.Errorf("node %s: file %q, want %q", e.Node, e.File, tapFile(e))
	}
	for _, n := range e.Neurons {
		if n < 0 {
			return fmt.Errorf("node %s: negative neuron %d", e.Node, n)
		}
	}
	return nil
}

// writeNpy writes data as a float32 [rows, cols] C-order npy file (format
// 1.0), atomically. It writes the header and the little-endian values
// itself: npyio's writer encodes element by element through reflection,
// about 1 MB/s, which made large taps cost minutes (#15 class 8).
func writeNpy(path string, data []float32, rows, cols int) error {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// magic (6), version (2), header length (2), dict padded with spaces
	// and ended by a newline to a multiple of 64 bytes, as numpy writes it
	pad := 63 - (10+len(dict))%64
	head := make([]byte, 0, 10+len(dict)+pad+1)
	head = append(head, "\x93NUMPY\x01\x00"...)
	head = binary.LittleEndian.AppendUint16(head, uint16(len(dict)+pad+1))
	head = append(head, dict...)
	head = append(head, bytes.Repeat([]byte{' '}, pad)...)
	head = append(head, '\n')
	return atomicWrite(path, 0o644, func(f *os.File) error {
		if _, err := f.Write(head); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for v := data[:rows*cols]; len(v) > 0; {
			n := min(len(v), cap(buf)/4)
			buf = buf[:0]
			for _, x := range v[:n] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
			if _, err := f.Write(buf); err != nil {
				return err
			}
			v = v[n:]
		}
		return nil
	})
}

// maxNpyHeader bounds an npy header's length: numpy writes well under
// a kilobyte for a 2-D array.
const maxNpyHeader = 1 << 16

// readNpy reads a float32 [rows, cols] C-order npy file. The header is
// checked (length, dtype, order, shape against rows and cols) and the
// file's size against the shape before anything is allocated from it: a
// corrupted header neither allocates more than the file holds nor panics.
func readNpy(path string, rows, cols int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read tap: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read tap: %w", err)
	}
	headerLen, err := npyHeaderLen(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("read tap %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read tap %s: %w", path, err)
	}
	r, err := newNpyReader(io.LimitReader(f, headerLen))
	if err != nil {
		return nil, fmt.Errorf("read tap %s: %w", path, err)
	}
	h := r.Header.Descr
	if dtype := strings.Trim(h.Type, `'"`); dtype != "<f4" || h.Fortran || len(h.Shape) != 2 {
		return nil, fmt.Errorf("read tap %s: dtype %s, fortran_order %v, shape %v; want '<f4', C order, 2-D", path, h.Type, h.Fortran, h.Shape)
	}
	if h.Shape[0] != rows || h.Shape[1] != cols {
		return nil, fmt.Errorf("read tap %s: shape (%d, %d), but the index says (%d, %d)", path, h.Shape[0], h.Shape[1], rows, cols)
	}
	if rows < 1 || cols < 1 {
		return nil, fmt.Errorf("read tap %s: shape (%d, %d) is not a tap's", path, rows, cols)
	}
	// rows ≤ dataBytes/4/cols first, so that the product cannot overflow.
	if dataBytes := fi.Size() - headerLen; int64(rows) > dataBytes/4/int64(cols) || int64(rows)*int64(cols)*4 != dataBytes {
		return nil, fmt.Errorf("read tap %s: %d bytes of data after the header, want %d×%d×4 for shape (%d, %d) float32: the file is truncated or corrupted", path, dataBytes, rows, cols, rows, cols)
	}
	raw := make([]byte, int64(rows)*int64(cols)*4)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("read tap %s: %w", path, err)
	}
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return data, nil
}

// npyHeaderLen reads an npy file's preamble (magic, version, header length)
// and returns the offset where its data starts, checked against the file's
// size.
func npyHeaderLen(r io.Reader, size int64) (int64, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:10]); err != nil {
		return 0, fmt.Errorf("not an npy file (%d bytes)", size)
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return 0, errors.New("not an npy file (no \\x93NUMPY magic)")
	}
	var start, n int64
	switch pre[6] {
	case 1:
		start, n = 10, int64(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		if _, err := io.ReadFull(r, pre[10:12]); err != nil {
			return 0, errors.New("npy header cut short")
		}
		start, n = 12, int64(binary.LittleEndian.Uint32(pre[8:12]))
	default:
		return 0, fmt.Errorf("npy version %d.%d, want 1.0 or 2.0", pre[6], pre[7])
	}
	if n > maxNpyHeader || start+n > size {
		return 0, fmt.Errorf("npy header of %d bytes in a file of %d: corrupted", n, size)
	}
	return start + n, nil
}

// newNpyReader parses an npy header with npyio, turning the panics its
// parser raises on some malformed headers into errors.
func newNpyReader(r io.Reader) (nr *npy.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			nr, err = nil, fmt.Errorf("malformed npy header (%v)", p)
		}
	}()
	return npy.NewReader(r)
}
