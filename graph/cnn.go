package graph

import "fmt"

func (b *builder) cnn() error { return fmt.Errorf("the cnn is not built yet") }
