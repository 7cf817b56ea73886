package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Limits that guard allocations against hostile or corrupt headers. MNIST
// needs 784 pixels and 60000 images; these leave ample room for any
// IDX dataset a single machine can train on.
const (
	maxPixels = 1 << 20 // rows*cols of one image
	maxCount  = 1 << 26 // images or labels in one file
)

// readChunk is the first buffer size when the size of the data cannot be
// checked before reading (gzip streams); buffers then double.
const readChunk = 1 << 20

// maxTrailingCount bounds how many trailing bytes are counted for the error
// message; beyond it the message says "more than".
const maxTrailingCount = 1 << 20

// idxFormat describes what a file must hold.
type idxFormat struct {
	magic    uint32   // 0x00000803 or 0x00000801
	what     string   // "image" or "label", for messages
	dimNames []string // one name per dimension, for messages
}

var (
	imageFormat = idxFormat{magic: 0x00000803, what: "image", dimNames: []string{"image count", "rows", "cols"}}
	labelFormat = idxFormat{magic: 0x00000801, what: "label", dimNames: []string{"label count"}}
)

func (f idxFormat) headerLen() int { return 4 + 4*len(f.dimNames) }

// ReadImages reads an IDX image file (magic 0x00000803), raw or
// gzip-compressed, and returns its n images of rows×cols bytes, row-major.
func ReadImages(path string) (imgs []uint8, n, rows, cols int, err error) {
	dims, data, err := readFile(path, imageFormat)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return data, dims[0], dims[1], dims[2], nil
}

// ReadLabels reads an IDX label file (magic 0x00000801), raw or
// gzip-compressed, and returns its labels.
func ReadLabels(path string) (labels []uint8, err error) {
	_, data, err := readFile(path, labelFormat)
	return data, err
}

func readFile(path string, format idxFormat) (dims []int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err // "open PATH: ..." already names the file
	}
	defer f.Close()
	size := int64(-1)
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	dims, data, err = decodeIDX(f, size, format)
	if _, isPathErr := err.(*os.PathError); isPathErr {
		return nil, nil, err // "read PATH: is a directory" already names the file
	} else if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return dims, data, nil
}

// decodeImages and decodeLabels decode an IDX stream already in memory or
// open; size is the stream's length if known, else -1. They are what the
// fuzz targets exercise.
func decodeImages(r io.Reader, size int64) (imgs []uint8, n, rows, cols int, err error) {
	dims, data, err := decodeIDX(r, size, imageFormat)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return data, dims[0], dims[1], dims[2], nil
}

func decodeLabels(r io.Reader, size int64) ([]uint8, error) {
	_, data, err := decodeIDX(r, size, labelFormat)
	return data, err
}

// decodeIDX reads a whole IDX stream of the given format: gzip detection,
// header validation, data, and the check that nothing follows the data.
// size is the length of the (possibly compressed) stream, or -1 if unknown.
func decodeIDX(r io.Reader, size int64, format idxFormat) (dims []int, data []byte, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if head, err := br.Peek(2); err != nil && err != io.EOF {
		return nil, nil, err
	} else if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("starts with the gzip magic 1f 8b but is not valid gzip data: %w", err)
		}
		src = &gzipReader{r: zr}
		size = -1 // the decompressed size is unknown until it is read
	}

	hdrLen := format.headerLen()
	var hdr [16]byte
	if got, err := io.ReadFull(src, hdr[:4]); err != nil {
		return nil, nil, shortRead(err, "truncated header: expected %d bytes, found %d", hdrLen, got)
	}
	if err := format.checkMagic(binary.BigEndian.Uint32(hdr[:4])); err != nil {
		return nil, nil, err
	}
	if got, err := io.ReadFull(src, hdr[4:hdrLen]); err != nil {
		return nil, nil, shortRead(err, "truncated header: expected %d bytes, found %d", hdrLen, 4+got)
	}

	dims = make([]int, len(format.dimNames))
	for i, name := range format.dimNames {
		d := binary.BigEndian.Uint32(hdr[4+4*i:])
		if d == 0 {
			return nil, nil, fmt.Errorf("header: %s = 0, must be > 0", name)
		}
		if i == 0 && d > maxCount {
			return nil, nil, fmt.Errorf("header: %s %d exceeds the limit of %d", name, d, maxCount)
		}
		if i > 0 && d > maxPixels { // checked alone first so that rows*cols cannot overflow
			return nil, nil, fmt.Errorf("header: %s = %d, image size exceeds the limit of %d pixels", name, d, maxPixels)
		}
		dims[i] = int(d)
	}
	total := int64(dims[0])
	if len(dims) == 3 {
		pixels := int64(dims[1]) * int64(dims[2])
		if pixels > maxPixels {
			return nil, nil, fmt.Errorf("header: image size %dx%d = %d pixels exceeds the limit of %d", dims[1], dims[2], pixels, maxPixels)
		}
		total *= pixels
	}
	if total > math.MaxInt {
		return nil, nil, fmt.Errorf("header: %d bytes of data do not fit in memory on this platform", total)
	}

	avail := int64(-1)
	if size >= 0 {
		avail = max(size-int64(hdrLen), 0)
	}
	data, found, err := readData(src, total, avail)
	if err != nil {
		if len(dims) == 3 {
			return nil, nil, shortRead(err, "truncated data: header says %d images of %dx%d = %d bytes, found %d",
				dims[0], dims[1], dims[2], total, found)
		}
		return nil, nil, shortRead(err, "truncated data: header says %d labels = %d bytes, found %d",
			dims[0], total, found)
	}

	extra, err := io.Copy(io.Discard, io.LimitReader(src, maxTrailingCount+1))
	if err != nil {
		return nil, nil, err
	}
	if extra > maxTrailingCount {
		return nil, nil, fmt.Errorf("more than %d trailing bytes after the %d bytes of data the header describes", maxTrailingCount, total)
	}
	if extra > 0 {
		return nil, nil, fmt.Errorf("%s after the %d bytes of data the header describes", plural(int(extra), "trailing byte"), total)
	}
	return dims, data, nil
}

// checkMagic explains what is wrong with a magic number, field by field.
func (f idxFormat) checkMagic(magic uint32) error {
	if magic == f.magic {
		return nil
	}
	var why string
	switch typ, nd, want := byte(magic>>8), int(magic&0xff), len(f.dimNames); {
	case magic>>16 != 0:
		why = "not an IDX file (the first two bytes must be 0)"
	case typ != 0x08:
		why = fmt.Sprintf("element type 0x%02x, want 0x08 (unsigned byte)", typ)
	case nd != want:
		why = fmt.Sprintf("%s, want %d", plural(nd, "dimension"), want)
		if nd == 1 && want == 3 {
			why += " (is this a label file?)"
		} else if nd == 3 && want == 1 {
			why += " (is this an image file?)"
		}
	}
	return fmt.Errorf("magic number 0x%08x, want 0x%08x (an IDX %s file): %s", magic, f.magic, f.what, why)
}

// readData reads exactly want bytes. When avail (the bytes left in the
// stream, or -1 if unknown) shows they are there, it allocates them at once;
// otherwise it grows the buffer as data arrives, so memory stays within a
// small factor of what the stream really holds. found is how many bytes
// were read when it fails.
func readData(r io.Reader, want, avail int64) (data []byte, found int64, err error) {
	initial := want
	if avail < want {
		initial = min(want, readChunk)
	}
	buf := make([]byte, 0, initial)
	for int64(len(buf)) < want {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), want))
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return nil, int64(len(buf)), err
		}
	}
	return buf, want, nil
}

// shortRead turns the end of the stream into the given message and passes
// any other error (a corrupt gzip stream, an I/O error) through unchanged,
// since that is the real cause.
func shortRead(err error, format string, args ...any) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf(format, args...)
	}
	return err
}

// gzipReader marks errors of the gzip layer so they read as what they are
// rather than as a short file.
type gzipReader struct {
	r   *gzip.Reader
	out int64 // decompressed bytes so far
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("gzip stream ends early, after %d decompressed bytes: %w", g.out, err)
		}
		return n, fmt.Errorf("invalid gzip data after %d decompressed bytes: %w", g.out, err)
	}
	return n, err
}

// plural says "1 byte", "2 bytes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
