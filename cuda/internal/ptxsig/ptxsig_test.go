package ptxsig

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	const ptx = `
// .globl	k1
.visible .entry k1(
	.param .u64 k1_param_0,
	.param .u32 k1_param_1,
	.param .f32 k1_param_2
)
.maxntid 128, 2, 1
{
	ret;
}
.visible .entry k2()
{
	ret;
}
`
	got, err := Parse(ptx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"k1", "pif", 256}, {"k2", "", 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse = %+v, want %+v", got, want)
	}
	if _, err := Parse(".visible .entry k(\n.param .f64 x\n)\n{\n}\n"); err == nil {
		t.Error("a double parameter parsed without error")
	}
}

// TestCommittedPTX reads the committed kernels: every entry has a name and
// the GEMM kernels carry their launch bounds.
func TestCommittedPTX(t *testing.T) {
	files, _ := filepath.Glob("../../kernels/*.ptx")
	if len(files) == 0 {
		t.Fatal("no committed PTX under cuda/kernels")
	}
	bounds := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		es, err := Parse(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(es) == 0 {
			t.Errorf("%s: no kernels", f)
		}
		for _, e := range es {
			bounds[e.Name] = e.MaxThreads
		}
	}
	if bounds["gemm_nn_128"] != 256 || bounds["gemm_nn_32"] != 64 {
		t.Errorf("gemm bounds = %d, %d; want 256, 64 (GEMM macro's __launch_bounds__)", bounds["gemm_nn_128"], bounds["gemm_nn_32"])
	}
}
