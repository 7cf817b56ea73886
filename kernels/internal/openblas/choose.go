package openblas

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// ISA is the x86 instruction-set level an OpenBLAS kernel is written for
// (or a CPU supports), in increasing order.
type ISA int

const (
	ISAUnknown ISA = iota // not an x86 kernel normtap knows
	ISASSE                // SSE2–SSE4.2: Prescott … Nehalem, AMD before Bulldozer
	ISAAVX                // AVX: Sandybridge, Bulldozer, Piledriver, Steamroller
	ISAAVX2               // AVX2 and FMA: Haswell, Zen, Excavator
	ISAAVX512             // AVX-512 F/CD/BW/DQ/VL: SkylakeX, Cooperlake, SapphireRapids
)

var isaNames = [...]string{"unknown", "SSE", "AVX", "AVX2", "AVX-512"}

func (l ISA) String() string {
	if l < 0 || int(l) >= len(isaNames) {
		return "unknown"
	}
	return isaNames[l]
}

// kernelISA maps the names openblas_get_corename returns on x86 (lower
// case) to the instructions their kernels use.
var kernelISA = map[string]ISA{
	"katmai": ISASSE, "coppermine": ISASSE, "northwood": ISASSE, "prescott": ISASSE,
	"banias": ISASSE, "atom": ISASSE, "core2": ISASSE, "penryn": ISASSE,
	"dunnington": ISASSE, "nehalem": ISASSE, "athlon": ISASSE, "opteron": ISASSE,
	"opteron_sse3": ISASSE, "barcelona": ISASSE, "nano": ISASSE, "bobcat": ISASSE,
	"sandybridge": ISAAVX, "bulldozer": ISAAVX, "piledriver": ISAAVX, "steamroller": ISAAVX,
	"haswell": ISAAVX2, "zen": ISAAVX2, "excavator": ISAAVX2,
	"skylakex": ISAAVX512, "cooperlake": ISAAVX512, "sapphirerapids": ISAAVX512,
}

// KernelISA is the instruction set of the OpenBLAS kernel called name
// (ISAUnknown for a name this table lacks, e.g. a newer OpenBLAS's or a
// non-x86 one).
func KernelISA(name string) ISA { return kernelISA[strings.ToLower(name)] }

// Features is what the CPU and its operating system support, as far as
// OpenBLAS's x86 kernels care.
type Features struct {
	Vendor                                          string // CPUID vendor: GenuineIntel, AuthenticAMD, HygonGenuine
	AVX, AVX2, FMA                                  bool
	AVX512F, AVX512CD, AVX512BW, AVX512DQ, AVX512VL bool
}

// HostFeatures reads this machine's features (golang.org/x/sys/cpu, which
// also checks that the OS saves the AVX/AVX-512 registers). Off x86 they
// are all false.
func HostFeatures() Features {
	x := cpu.X86
	return Features{Vendor: Vendor(), AVX: x.HasAVX, AVX2: x.HasAVX2, FMA: x.HasFMA,
		AVX512F: x.HasAVX512F, AVX512CD: x.HasAVX512CD, AVX512BW: x.HasAVX512BW,
		AVX512DQ: x.HasAVX512DQ, AVX512VL: x.HasAVX512VL}
}

// ISA is the highest level all of whose instructions f has.
func (f Features) ISA() ISA {
	switch {
	case f.AVX512F && f.AVX512CD && f.AVX512BW && f.AVX512DQ && f.AVX512VL && f.AVX2 && f.FMA:
		return ISAAVX512
	case f.AVX2 && f.FMA && f.AVX:
		return ISAAVX2
	case f.AVX:
		return ISAAVX
	}
	return ISASSE
}

// Choose returns the kernel to ask OpenBLAS for (its OPENBLAS_CORETYPE)
// when the one it loaded by itself, loaded, uses a lower instruction set
// than the CPU has: SkylakeX for AVX-512, Zen (AMD, Hygon) or Haswell for
// AVX2, Sandybridge for AVX. It returns "" to keep OpenBLAS's choice: the
// kernel already matches, the CPU has nothing better than SSE, or loaded is
// a name normtap does not know (a newer OpenBLAS knows its CPUs better).
func Choose(loaded string, f Features) string {
	have, cpuISA := KernelISA(loaded), f.ISA()
	if have == ISAUnknown || have >= cpuISA {
		return ""
	}
	switch cpuISA {
	case ISAAVX512:
		return "SkylakeX"
	case ISAAVX2:
		if f.Vendor == "AuthenticAMD" || f.Vendor == "HygonGenuine" {
			return "Zen"
		}
		return "Haswell"
	case ISAAVX:
		return "Sandybridge"
	}
	return ""
}
