//go:build openblas

package main

// testBuildTags: the CLI tests build normtap with the tags of this test.
const testBuildTags = "openblas"
