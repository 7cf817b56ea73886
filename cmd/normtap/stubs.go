package main

import "context"

type BenchCmd struct{}

func (c *BenchCmd) Run(g *Globals, ctx context.Context) error { return usagef("bench: not built yet") }

