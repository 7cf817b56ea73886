package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// idxBytes builds an IDX file: magic, one uint32 per dim, then data.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// seq returns n distinct non-zero bytes, so a shifted or dropped byte shows.
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// imageFile is a valid 3-image 2x4 IDX image file.
func imageFile() []byte { return idxBytes(0x803, []uint32{3, 2, 4}, seq(24)) }

func labelFile() []byte { return idxBytes(0x801, []uint32{5}, []byte{5, 0, 4, 1, 9}) }

func TestReadImagesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{"raw", imageFile()},
		{"gzip-named-raw", gzipBytes(t, imageFile())}, // gzip found by magic, not by name
		{"raw-named.gz", imageFile()},                 // and a raw file named .gz still reads
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tc.name, tc.file)
			imgs, n, rows, cols, err := ReadImages(path)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || rows != 2 || cols != 4 {
				t.Errorf("dims = %d, %dx%d, want 3, 2x4", n, rows, cols)
			}
			if !bytes.Equal(imgs, seq(24)) {
				t.Errorf("pixels = %v, want %v", imgs, seq(24))
			}
		})
	}
}

func TestReadLabelsRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		file := labelFile()
		if gz {
			file = gzipBytes(t, file)
		}
		path := writeFile(t, t.TempDir(), TrainLabels, file)
		labels, err := ReadLabels(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte{5, 0, 4, 1, 9}; !bytes.Equal(labels, want) {
			t.Errorf("gzip %v: labels = %v, want %v", gz, labels, want)
		}
	}
}

// corruptCRC flips the stored CRC-32 of a gzip stream (the trailer's first
// four bytes), so the data decompresses but fails its checksum.
func corruptCRC(gz []byte) []byte {
	gz = bytes.Clone(gz)
	gz[len(gz)-8] ^= 0xff
	return gz
}

func TestReadImagesErrors(t *testing.T) {
	img := imageFile()
	gzImg := gzipBytes(t, img)
	tests := []struct {
		name string
		file []byte
		want string // phrase the one-line message must contain
	}{
		{"empty", nil, "truncated header: expected 16 bytes, found 0"},
		{"label-magic", labelFile(), "magic number 0x00000801, want 0x00000803 (an IDX image file): 1 dimension, want 3 (is this a label file?)"},
		{"text-file", []byte("hello, world\n"), "not an IDX file (the first two bytes must be 0)"},
		{"second-byte-nonzero", idxBytes(0x10803, []uint32{3, 2, 4}, seq(24)), "first two bytes must be 0"},
		{"type-int32", idxBytes(0x0c03, []uint32{3, 2, 4}, seq(24)), "element type 0x0c, want 0x08 (unsigned byte)"},
		{"two-dims", idxBytes(0x0802, []uint32{3, 8}, seq(24)), "2 dimensions, want 3"},
		{"zero-count", idxBytes(0x803, []uint32{0, 2, 4}, nil), "image count = 0, must be > 0"},
		{"zero-rows", idxBytes(0x803, []uint32{3, 0, 4}, nil), "rows = 0, must be > 0"},
		{"zero-cols", idxBytes(0x803, []uint32{3, 2, 0}, nil), "cols = 0, must be > 0"},
		{"huge-image", idxBytes(0x803, []uint32{1, 2048, 1024}, nil), "image size 2048x1024 = 2097152 pixels exceeds the limit of 1048576"},
		{"huge-rows", idxBytes(0x803, []uint32{1, 1 << 31, 1 << 31}, nil), "rows = 2147483648, image size exceeds the limit"},
		{"huge-count", idxBytes(0x803, []uint32{1<<26 + 1, 1, 1}, nil), "image count 67108865 exceeds the limit of 67108864"},
		{"truncated-header", img[:12], "truncated header: expected 16 bytes, found 12"},
		{"truncated-magic", img[:3], "truncated header: expected 16 bytes, found 3"},
		{"truncated-data", img[:len(img)-4], "truncated data: header says 3 images of 2x4 = 24 bytes, found 20"},
		{"truncated-data-gz", gzipBytes(t, img[:len(img)-4]), "header says 3 images of 2x4 = 24 bytes, found 20"},
		{"trailing", append(bytes.Clone(img), 1, 2, 3), "3 trailing bytes after the 24 bytes of data"},
		{"trailing-gz", gzipBytes(t, append(bytes.Clone(img), 1, 2, 3)), "3 trailing bytes after the 24 bytes of data"},
		{"trailing-after-gz-stream", append(bytes.Clone(gzImg), "junk after the gzip stream"...), "invalid gzip data after 40 decompressed bytes: gzip: invalid header"},
		{"bad-gz-header", []byte{0x1f, 0x8b, 0, 0, 0, 0}, "starts with the gzip magic 1f 8b but is not valid gzip data"},
		{"bad-gz-checksum", corruptCRC(gzImg), "invalid gzip data after 40 decompressed bytes: gzip: invalid checksum"},
		{"cut-gz", gzImg[:len(gzImg)-12], "gzip stream ends early"},
		// A hostile header that claims 2^46 bytes in a tiny file must fail
		// on the missing data, not on an attempt to allocate it.
		{"hostile-count", idxBytes(0x803, []uint32{1 << 26, 1024, 1024}, seq(10)), "header says 67108864 images of 1024x1024 = 70368744177664 bytes, found 10"},
		{"hostile-count-gz", gzipBytes(t, idxBytes(0x803, []uint32{1 << 26, 1024, 1024}, seq(10))), "= 70368744177664 bytes, found 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), TrainImages+".gz", tc.file)
			imgs, _, _, _, err := ReadImages(path)
			checkErr(t, err, path, tc.want)
			if imgs != nil {
				t.Errorf("got %d bytes of images along with the error", len(imgs))
			}
		})
	}
}

func TestReadLabelsErrors(t *testing.T) {
	lab := labelFile()
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"image-magic", imageFile(), "magic number 0x00000803, want 0x00000801 (an IDX label file): 3 dimensions, want 1 (is this an image file?)"},
		{"type-float", idxBytes(0x0d01, []uint32{5}, seq(20)), "element type 0x0d, want 0x08"},
		{"zero-count", idxBytes(0x801, []uint32{0}, nil), "label count = 0, must be > 0"},
		{"huge-count", idxBytes(0x801, []uint32{1 << 30}, nil), "label count 1073741824 exceeds the limit of 67108864"},
		{"truncated-header", lab[:6], "truncated header: expected 8 bytes, found 6"},
		{"truncated-data", lab[:len(lab)-1], "truncated data: header says 5 labels = 5 bytes, found 4"},
		{"trailing", append(bytes.Clone(lab), 0), "1 trailing byte after the 5 bytes"},
		{"hostile-count-gz", gzipBytes(t, idxBytes(0x801, []uint32{1 << 26}, seq(3))), "header says 67108864 labels = 67108864 bytes, found 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), TrainLabels, tc.file)
			labels, err := ReadLabels(path)
			checkErr(t, err, path, tc.want)
			if labels != nil {
				t.Errorf("got %d labels along with the error", len(labels))
			}
		})
	}
}

func TestReadMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, TestImages)
	_, _, _, _, err := ReadImages(missing)
	checkErr(t, err, missing, "no such file")
	_, err = ReadLabels(dir)
	checkErr(t, err, dir, "is a directory")
}

// checkErr asserts a one-line error that names path and contains want.
func checkErr(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file %s", msg, path)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
}

// TestHostileHeaderAllocation checks that a header claiming 2^46 bytes of
// pixels in a tiny file costs memory in proportion to the file, not to the
// header.
func TestHostileHeaderAllocation(t *testing.T) {
	hostile := idxBytes(0x803, []uint32{1 << 26, 1024, 1024}, seq(100))
	for name, file := range map[string][]byte{"raw": hostile, "gz": gzipBytes(t, hostile)} {
		allocated := bytesAllocated(func() {
			if _, _, _, _, err := decodeImages(bytes.NewReader(file), int64(len(file))); err == nil {
				t.Errorf("%s: no error for a hostile header", name)
			}
		})
		if limit := uint64(4 << 20); allocated > limit {
			t.Errorf("%s: decoding a %d-byte file with a hostile header allocated %d bytes, want <= %d", name, len(file), allocated, limit)
		}
	}
}

// bytesAllocated reports the heap bytes f allocates.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadDataGrows checks the chunked reader across several buffer
// doublings with a stream whose length is unknown in advance.
func TestReadDataGrows(t *testing.T) {
	want := seq(5*readChunk + 123)
	got, found, err := readData(onlyReader{bytes.NewReader(want)}, int64(len(want)), -1)
	if err != nil || found != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("readData = %d bytes, found %d, err %v; want %d equal bytes", len(got), found, err, len(want))
	}
	_, found, err = readData(bytes.NewReader(want), int64(len(want))+1, -1)
	if err == nil || found != int64(len(want)) {
		t.Fatalf("readData past the end: found %d, err %v; want found %d and an error", found, err, len(want))
	}
}

type onlyReader struct{ r *bytes.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
