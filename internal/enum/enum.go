// Package enum is the one implementation of normtap's named enumerations
// (graph.Norm, graph.Model, graph.NormPos, rundir.TapKind, rundir.TapMode):
// a table of names indexed by value, with the parse, print and list that
// every such type shares. Value 0 is "unset" and has the empty name, so a
// zero value is caught by validation instead of passing for a real one.
package enum

import (
	"fmt"
	"strings"
)

// Names is an enumeration's table: What names the kind of value in errors
// ("norm"), Names[v] is value v's name, and Names[0] is "".
type Names[T ~uint8] struct {
	What  string
	Names []string
}

// String is v's name; a value outside the table prints as What(v).
func (n Names[T]) String(v T) string {
	if v != 0 && int(v) < len(n.Names) {
		return n.Names[v]
	}
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%s(%d)", n.What, v)
}

// Valid reports whether v is one of the named values (not unset).
func (n Names[T]) Valid(v T) bool { return v != 0 && int(v) < len(n.Names) }

// Parse reads a name; an unknown one is an error listing the names.
func (n Names[T]) Parse(s string) (T, error) {
	for i, name := range n.Names {
		if i > 0 && name == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want %s)", n.What, s, n.List())
}

// Values lists the named values in table order.
func (n Names[T]) Values() []T {
	out := make([]T, 0, len(n.Names)-1)
	for i := 1; i < len(n.Names); i++ {
		out = append(out, T(i))
	}
	return out
}

// List writes the names as prose: "none, batch or layer".
func (n Names[T]) List() string {
	names := n.Names[1:]
	switch len(names) {
	case 0:
		return "nothing"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Marshal is v's name as text, for encoding.TextMarshaler: unset is "",
// a value outside the table an error.
func (n Names[T]) Marshal(v T) ([]byte, error) {
	if v != 0 && !n.Valid(v) {
		return nil, fmt.Errorf("%s(%d) has no name", n.What, v)
	}
	return []byte(n.String(v)), nil
}

// Unmarshal reads text written by Marshal, for encoding.TextUnmarshaler.
func (n Names[T]) Unmarshal(text []byte, v *T) error {
	if len(text) == 0 {
		*v = 0
		return nil
	}
	x, err := n.Parse(string(text))
	if err != nil {
		return err
	}
	*v = x
	return nil
}
