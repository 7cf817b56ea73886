// Package ptxsig reads the kernel entry points of a PTX module: each
// `.entry`'s name, the kinds of its parameters and its `.maxntid` (what
// `__launch_bounds__` compiles to). The kernel generator (cuda/internal/
// kernelgen) builds the launch tables from it, and package cuda checks
// the embedded PTX against those tables when it loads a module, so a
// launch cannot silently disagree with the kernel it calls.
package ptxsig

import (
	"fmt"
	"strconv"
	"strings"
)

// Param kinds, one byte per parameter in Entry.Params.
const (
	Pointer = 'p' // .u64: a device pointer (normtap's kernels take no 64-bit integers)
	Int     = 'i' // .u32 / .s32: a C int
	Float   = 'f' // .f32
)

// Entry is one kernel of a PTX module.
type Entry struct {
	Name   string
	Params string // one kind byte per parameter, in order
	// MaxThreads is the product of the kernel's .maxntid (its
	// __launch_bounds__), or 0 when it declares none.
	MaxThreads int
}

// Parse returns the module's entries in the order they appear.
func Parse(ptx string) ([]Entry, error) {
	var out []Entry
	lines := strings.Split(ptx, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		at := strings.Index(line, ".entry ")
		if at < 0 || strings.HasPrefix(line, "//") {
			continue
		}
		name := strings.TrimSpace(line[at+len(".entry "):])
		noParams := strings.HasSuffix(name, "()")
		name = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(name, "()"), "("))
		if name == "" {
			return nil, fmt.Errorf("ptx line %d: .entry without a name", i+1)
		}
		e := Entry{Name: name}
		// parameters up to ')', then directives up to '{'
		for i++; !noParams && i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, ")") {
				break
			}
			if !strings.HasPrefix(l, ".param ") {
				return nil, fmt.Errorf("ptx line %d: kernel %s: unexpected %q in the parameter list", i+1, name, l)
			}
			f := strings.Fields(l)
			if len(f) < 3 {
				return nil, fmt.Errorf("ptx line %d: kernel %s: short parameter %q", i+1, name, l)
			}
			switch f[1] {
			case ".u64", ".b64", ".s64":
				e.Params += string(rune(Pointer))
			case ".u32", ".s32", ".b32":
				e.Params += string(rune(Int))
			case ".f32":
				e.Params += string(rune(Float))
			default:
				return nil, fmt.Errorf("ptx line %d: kernel %s: parameter type %s is not a pointer, int or float", i+1, name, f[1])
			}
		}
		if !noParams {
			i++
		}
		for ; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if strings.HasPrefix(l, "{") {
				break
			}
			if rest, ok := strings.CutPrefix(l, ".maxntid"); ok {
				n := 1
				for _, s := range strings.Split(rest, ",") {
					v, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil || v < 1 {
						return nil, fmt.Errorf("ptx line %d: kernel %s: bad .maxntid %q", i+1, name, l)
					}
					n *= v
				}
				e.MaxThreads = n
			}
		}
		if i >= len(lines) {
			return nil, fmt.Errorf("kernel %s: no body", name)
		}
		out = append(out, e)
	}
	return out, nil
}
