package openblas

import "testing"

// TestChoose: which kernel normtap asks for, by the kernel OpenBLAS loaded
// and the CPU's features.
func TestChoose(t *testing.T) {
	sse := Features{Vendor: "GenuineIntel"}
	avx := Features{Vendor: "GenuineIntel", AVX: true}
	avx2 := Features{Vendor: "GenuineIntel", AVX: true, AVX2: true, FMA: true}
	avx2NoFMA := Features{Vendor: "GenuineIntel", AVX: true, AVX2: true}
	zen3 := Features{Vendor: "AuthenticAMD", AVX: true, AVX2: true, FMA: true}
	hygon := Features{Vendor: "HygonGenuine", AVX: true, AVX2: true, FMA: true}
	skx := Features{Vendor: "GenuineIntel", AVX: true, AVX2: true, FMA: true,
		AVX512F: true, AVX512CD: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true}
	knl := Features{Vendor: "GenuineIntel", AVX: true, AVX2: true, FMA: true, AVX512F: true, AVX512CD: true}
	zen4 := skx
	zen4.Vendor = "AuthenticAMD"
	cases := []struct {
		loaded string
		cpu    Features
		want   string
	}{
		{"Prescott", skx, "SkylakeX"}, // the Xeon: 0.3.21 falls back to Prescott
		{"Haswell", skx, "SkylakeX"},
		{"SkylakeX", skx, ""},
		{"Cooperlake", skx, ""},
		{"skylakex", skx, ""}, // names compare without case
		{"Prescott", knl, "Haswell"},
		{"Zen", zen4, "SkylakeX"},
		{"Prescott", zen3, "Zen"},
		{"Sandybridge", zen3, "Zen"},
		{"Zen", zen3, ""},     // this session's EPYC: OpenBLAS is right
		{"Haswell", zen3, ""}, // a user's or OpenBLAS's AVX2 kernel stays
		{"Excavator", zen3, ""},
		{"Prescott", hygon, "Zen"},
		{"Prescott", avx2, "Haswell"},
		{"Nehalem", avx2, "Haswell"},
		{"Haswell", avx2, ""},
		{"Prescott", avx2NoFMA, "Sandybridge"},
		{"Prescott", avx, "Sandybridge"},
		{"Sandybridge", avx, ""},
		{"Prescott", sse, ""}, // nothing better than SSE to ask for
		{"Core2", sse, ""},
		{"Haswell", avx, ""},    // above the CPU (a user's choice): kept
		{"NeoverseN1", skx, ""}, // unknown name: trust OpenBLAS
		{"", skx, ""},           // pure-Go build: nothing loaded
		{"SapphireRapids", skx, ""},
	}
	for _, c := range cases {
		if got := Choose(c.loaded, c.cpu); got != c.want {
			t.Errorf("Choose(%q, %s %v) = %q, want %q", c.loaded, c.cpu.Vendor, c.cpu.ISA(), got, c.want)
		}
	}
}

// TestISAOrder: every kernel normtap may ask for is known at the level it
// is asked for, so that the re-executed process does not choose again.
func TestISAOrder(t *testing.T) {
	for kernel, want := range map[string]ISA{"SkylakeX": ISAAVX512, "Zen": ISAAVX2, "Haswell": ISAAVX2, "Sandybridge": ISAAVX, "Prescott": ISASSE} {
		if got := KernelISA(kernel); got != want {
			t.Errorf("KernelISA(%s) = %v, want %v", kernel, got, want)
		}
	}
}
