package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// The fuzz targets decode arbitrary bytes, raw or gzip, and check that the
// decoder never panics, allocates within a small multiple of the bytes the
// input really holds (after decompression), returns one-line errors, and
// agrees with a plain re-implementation: it accepts exactly the well-formed
// files and returns their bytes. Seeds are added here and stored under
// testdata/fuzz.

func FuzzReadImages(f *testing.F) {
	img := imageFile()
	for _, seed := range [][]byte{
		img,
		gzipBytes(f, img),
		idxBytes(0x803, []uint32{1, 28, 28}, seq(784)),
		img[:10],
		img[:len(img)-1],
		append(bytes.Clone(img), 0),
		labelFile(),
		idxBytes(0x803, []uint32{1 << 26, 1024, 1024}, seq(8)),
		gzipBytes(f, idxBytes(0x803, []uint32{1 << 26, 1024, 1024}, seq(8))),
		corruptCRC(gzipBytes(f, img)),
		{0x1f, 0x8b},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			imgs             []uint8
			n, rows, cols    int
			err              error
			decompressed, ok = plainBytes(data)
		)
		allocated := bytesAllocated(func() {
			imgs, n, rows, cols, err = decodeImages(bytes.NewReader(data), int64(len(data)))
		})
		checkAllocation(t, allocated, len(data), len(decompressed))
		want, wantOK := wellFormed(decompressed, ok, 0x803, 3)
		switch {
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Fatalf("error is not one line: %q", err)
		case err != nil && wantOK:
			t.Fatalf("rejected a well-formed file: %v", err)
		case err == nil && !wantOK:
			t.Fatalf("accepted a malformed file: %d images of %dx%d", n, rows, cols)
		case err == nil && (n != want[0] || rows != want[1] || cols != want[2] || !bytes.Equal(imgs, decompressed[16:])):
			t.Fatalf("decoded %d images of %dx%d (%d bytes), want %v and the file's %d data bytes", n, rows, cols, len(imgs), want, len(decompressed)-16)
		}
	})
}

func FuzzReadLabels(f *testing.F) {
	lab := labelFile()
	for _, seed := range [][]byte{
		lab,
		gzipBytes(f, lab),
		lab[:7],
		lab[:len(lab)-1],
		append(bytes.Clone(lab), 9),
		imageFile(),
		idxBytes(0x801, []uint32{1 << 26}, seq(3)),
		gzipBytes(f, idxBytes(0x801, []uint32{1 << 26}, seq(3))),
		corruptCRC(gzipBytes(f, lab)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			labels           []uint8
			err              error
			decompressed, ok = plainBytes(data)
		)
		allocated := bytesAllocated(func() {
			labels, err = decodeLabels(bytes.NewReader(data), int64(len(data)))
		})
		checkAllocation(t, allocated, len(data), len(decompressed))
		_, wantOK := wellFormed(decompressed, ok, 0x801, 1)
		switch {
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Fatalf("error is not one line: %q", err)
		case err != nil && wantOK:
			t.Fatalf("rejected a well-formed file: %v", err)
		case err == nil && !wantOK:
			t.Fatalf("accepted a malformed file: %d labels", len(labels))
		case err == nil && !bytes.Equal(labels, decompressed[8:]):
			t.Fatalf("decoded %d labels, want the file's %d data bytes", len(labels), len(decompressed)-8)
		}
	})
}

// plainBytes is the input as the decoder should see it: gunzipped when it
// starts with the gzip magic. ok is false when that gzip stream is
// invalid; the bytes up to the error are still returned, so the allocation
// bound can count them.
func plainBytes(data []byte) ([]byte, bool) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, true
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, zr)
	return out.Bytes(), err == nil
}

// wellFormed says whether b is a valid IDX file of the given magic within
// the package's limits, and returns its dimensions.
func wellFormed(b []byte, ok bool, magic uint32, ndims int) ([]int, bool) {
	hdrLen := 4 + 4*ndims
	if !ok || len(b) < hdrLen || binary.BigEndian.Uint32(b) != magic {
		return nil, false
	}
	dims := make([]int, ndims)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
		if dims[i] == 0 || dims[i] > maxCount {
			return nil, false
		}
	}
	size := dims[0]
	if ndims == 3 {
		if dims[1]*dims[2] > maxPixels { // each <= 2^26, so no overflow
			return nil, false
		}
		size *= dims[1] * dims[2]
	}
	return dims, len(b) == hdrLen+size
}

// checkAllocation fails when decoding allocated more than a small multiple
// of the bytes the input holds (compressed or not), plus a fixed allowance
// for the first read chunk, bufio and gzip state.
func checkAllocation(t *testing.T, allocated uint64, inputLen, plainLen int) {
	t.Helper()
	limit := 8*uint64(max(inputLen, plainLen)) + 8<<20
	if allocated > limit {
		t.Fatalf("allocated %d bytes for a %d-byte input (%d bytes decompressed), want <= %d", allocated, inputLen, plainLen, limit)
	}
}
