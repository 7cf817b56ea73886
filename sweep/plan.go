package sweep

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Flag is one flag of `normtap train`, as far as a sweep needs to know it.
type Flag struct {
	Name string // without the leading dashes, e.g. "batch"
	Bool bool   // takes no value: --name alone, or --name=true|false
}

// Axis is one --vary: a train flag and the values it takes, in order.
type Axis struct {
	Flag   string   `json:"flag"`
	Values []string `json:"values"`
}

// ParseVary reads one --vary value, "flag=v1|v2|…" (the flag with or
// without its leading dashes).
func ParseVary(s string) (Axis, error) {
	name, vals, ok := strings.Cut(s, "=")
	name = strings.TrimLeft(strings.TrimSpace(name), "-")
	if !ok || name == "" {
		return Axis{}, fmt.Errorf("--vary %q: want FLAG=V1|V2|…, e.g. --vary 'norm=none|batch'", s)
	}
	a := Axis{Flag: name}
	for _, v := range strings.Split(vals, "|") {
		if v = strings.TrimSpace(v); v == "" {
			return Axis{}, fmt.Errorf("--vary %q: empty value for %s; give values separated by |, e.g. --vary '%s=a|b'", s, name, name)
		}
		if slices.Contains(a.Values, v) {
			return Axis{}, fmt.Errorf("--vary %q: value %q of %s given twice", s, v, name)
		}
		a.Values = append(a.Values, v)
	}
	return a, nil
}

// Spec is what a user asks of a sweep.
type Spec struct {
	Root  string   // --out: the runs lie under it
	Axes  []Axis   // the --vary flags, in the order given
	Fixed []string // the train flags every run shares, as typed
	Flags []Flag   // the flags `normtap train` takes
	// Check, if set, validates one run's complete train arguments (its
	// --out included) as `normtap train` would, and says how long the run
	// is; an error is a usage error of the sweep.
	Check func(args []string) (Length, error)
	// PerRun, if set, adds flags that follow from a run's varied values
	// (one per axis), such as a learning rate scaled with the batch size;
	// they may be neither fixed nor varied.
	PerRun func(values []string) []string
}

// Length is how long a run is: it ends after Epochs epochs, or MaxSteps
// optimizer steps when that is > 0 (train's loop ends the same way).
type Length struct {
	Epochs   int
	MaxSteps int
}

// Run is one combination of the varied values.
type Run struct {
	Dir    string   // its directory's name under the root
	Values []string // one per axis
	Args   []string // train flags: the fixed ones, then the varied ones; no --out
	Length Length
}

// Plan is a checked sweep: its runs in order (the last axis varies fastest).
type Plan struct {
	Root  string
	Axes  []Axis
	Fixed []string
	Runs  []Run
	flags map[string]Flag
}

// Flags the sweep sets itself and a user may neither fix nor vary.
var reserved = map[string]string{
	"out":    "the sweep gives each run its directory under the sweep's own --out",
	"resume": "the sweep resumes interrupted runs by itself",
	"help":   "it is not a training flag",
}

// sweepOwn are the sweep command's own flags, which come before the train
// flags on its command line.
var sweepOwn = []string{"vary", "j", "jobs", "print"}

// ThreadsFlag is the train flag that gets each child its share of the
// cores, unless the user fixes or varies it.
const ThreadsFlag = "threads"

// maxDirName is the longest run directory name (most file systems: 255 bytes).
const maxDirName = 255

// NewPlan checks spec and lays out its runs. Its errors are usage errors,
// one line each.
func NewPlan(spec Spec) (*Plan, error) {
	p := &Plan{Root: spec.Root, Axes: spec.Axes, Fixed: spec.Fixed, flags: map[string]Flag{}}
	for _, f := range spec.Flags {
		p.flags[f.Name] = f
	}
	if spec.Root == "" {
		return nil, fmt.Errorf("--out: the sweep needs a root directory for its runs")
	}
	if len(spec.Axes) == 0 {
		return nil, fmt.Errorf("--vary: nothing varies; give at least one, e.g. --vary 'norm=none|batch'")
	}
	fixed, err := p.fixedNames(spec.Fixed)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, a := range spec.Axes {
		f, ok := p.flags[a.Flag]
		switch {
		case !ok:
			return nil, fmt.Errorf("--vary %s: normtap train has no flag --%s (normtap train --help lists them)", a.Flag, a.Flag)
		case reserved[a.Flag] != "":
			return nil, fmt.Errorf("--vary %s: cannot be varied: %s", a.Flag, reserved[a.Flag])
		case seen[a.Flag]:
			return nil, fmt.Errorf("--vary %s given twice; list all its values in one --vary %s=V1|V2|…", a.Flag, a.Flag)
		case fixed[a.Flag]:
			return nil, fmt.Errorf("--%s is both fixed and varied (--vary %s); drop one of them", a.Flag, a.Flag)
		case len(a.Values) == 0:
			return nil, fmt.Errorf("--vary %s: no values", a.Flag)
		}
		if f.Bool {
			for _, v := range a.Values {
				if v != "true" && v != "false" {
					return nil, fmt.Errorf("--vary %s: %q: --%s is a switch; its values are true and false", a.Flag, v, a.Flag)
				}
			}
		}
		seen[a.Flag] = true
	}
	for _, values := range combinations(spec.Axes) {
		r := Run{Dir: DirName(spec.Axes, values), Values: values, Args: slices.Clone(spec.Fixed)}
		if len(r.Dir) > maxDirName {
			return nil, fmt.Errorf("--vary: run directory name %.40s… is %d bytes, above %d; vary fewer flags or use shorter values", r.Dir, len(r.Dir), maxDirName)
		}
		for i, a := range spec.Axes {
			r.Args = append(r.Args, "--"+a.Flag+"="+values[i])
		}
		if spec.PerRun != nil {
			extra := spec.PerRun(values)
			names, err := p.fixedNames(extra)
			if err != nil {
				return nil, fmt.Errorf("run %s: %v", r.Dir, err)
			}
			for name := range names {
				if fixed[name] || seen[name] {
					return nil, fmt.Errorf("--%s is set for each run by the study itself; neither fix nor vary it", name)
				}
			}
			r.Args = append(r.Args, extra...)
		}
		if spec.Check != nil {
			args := append(slices.Clone(r.Args), "--out", filepath.Join(p.Root, r.Dir))
			if r.Length, err = spec.Check(args); err != nil {
				return nil, fmt.Errorf("run %s: %v", r.Dir, err)
			}
		}
		p.Runs = append(p.Runs, r)
	}
	return p, nil
}

// fixedNames finds the flags among the fixed train arguments.
func (p *Plan) fixedNames(args []string) (map[string]bool, error) {
	names := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if own := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-"); strings.HasPrefix(a, "-") && slices.Contains(sweepOwn, own) {
			return nil, fmt.Errorf("%s after the train flags: give the sweep's own flags (--vary, --out, -j, --print) first", a)
		}
		if !strings.HasPrefix(a, "--") || a == "--" {
			return nil, fmt.Errorf("%q: want train flags (--name value) after the sweep's own flags", a)
		}
		name, _, hasValue := strings.Cut(a[2:], "=")
		f, ok := p.flags[name]
		if !ok {
			return nil, fmt.Errorf("--%s: normtap train has no such flag (normtap train --help lists them)", name)
		}
		if why := reserved[name]; why != "" {
			return nil, fmt.Errorf("--%s: not a flag a sweep passes on: %s", name, why)
		}
		if names[name] {
			return nil, fmt.Errorf("--%s given twice", name)
		}
		names[name] = true
		if !f.Bool && !hasValue {
			if i+1 == len(args) {
				return nil, fmt.Errorf("--%s: missing its value", name)
			}
			i++
		}
	}
	return names, nil
}

// combinations lists every choice of one value per axis, the last axis
// varying fastest.
func combinations(axes []Axis) [][]string {
	out := [][]string{{}}
	for _, a := range axes {
		var next [][]string
		for _, prefix := range out {
			for _, v := range a.Values {
				next = append(next, append(slices.Clone(prefix), v))
			}
		}
		out = next
	}
	return out
}

// DirName is a run's directory name: "flag=value,…" in the axes' order,
// each value escaped so that the name is one safe path element and tells
// runs apart (EscapeValue).
func DirName(axes []Axis, values []string) string {
	parts := make([]string, len(axes))
	for i, a := range axes {
		parts[i] = a.Flag + "=" + EscapeValue(values[i])
	}
	return strings.Join(parts, ",")
}

// EscapeValue writes every byte of v outside [A-Za-z0-9._+-] as %XX, so
// that no value can add a path separator, a "," or "=" of the name's own
// syntax, a character some file system or shell treats specially, or a
// leading dot; distinct values stay distinct.
func EscapeValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '+' || c == '_' || c == '.' && i > 0
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sets reports whether the user fixes or varies flag.
func (p *Plan) sets(flag string) bool {
	for _, a := range p.Axes {
		if a.Flag == flag {
			return true
		}
	}
	for _, a := range p.Fixed {
		if a == "--"+flag || strings.HasPrefix(a, "--"+flag+"=") {
			return true
		}
	}
	return false
}

// TrainArgs is the complete argument list of run r's `normtap train`,
// after the program name: "train", its flags, --out, and extra (e.g.
// --resume, --threads).
func (p *Plan) TrainArgs(r Run, extra ...string) []string {
	args := append([]string{"train"}, r.Args...)
	args = append(args, "--out", filepath.Join(p.Root, r.Dir))
	return append(args, extra...)
}

// Print writes one complete `program train …` command per run, one per
// line, quoted for a POSIX shell: input for `parallel -j N` or a Slurm
// array's `sed -n "${SLURM_ARRAY_TASK_ID}p"`.
func (p *Plan) Print(w io.Writer, program string) error {
	for _, r := range p.Runs {
		words := append([]string{program}, p.TrainArgs(r)...)
		for i, word := range words {
			words[i] = ShellQuote(word)
		}
		if _, err := fmt.Fprintln(w, strings.Join(words, " ")); err != nil {
			return err
		}
	}
	return nil
}

// ShellQuote returns s as one word of a POSIX shell command line.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	plain := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.,/:=+%@", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
