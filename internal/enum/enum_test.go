package enum

import (
	"strings"
	"testing"
)

type color uint8

var colors = Names[color]{What: "color", Names: []string{"", "red", "green", "blue"}}

func TestNames(t *testing.T) {
	for _, v := range colors.Values() {
		got, err := colors.Parse(colors.String(v))
		if err != nil || got != v {
			t.Errorf("Parse(String(%d)) = %d, %v", v, got, err)
		}
		text, err := colors.Marshal(v)
		var back color
		if err != nil || colors.Unmarshal(text, &back) != nil || back != v {
			t.Errorf("Marshal/Unmarshal %d: %q, %v → %d", v, text, err, back)
		}
	}
	if _, err := colors.Parse("mauve"); err == nil || !strings.Contains(err.Error(), `unknown color "mauve" (want red, green or blue)`) {
		t.Errorf("Parse(mauve): %v", err)
	}
	if _, err := colors.Parse(""); err == nil {
		t.Error(`Parse("") accepted the unset name`)
	}
	if colors.Valid(0) || colors.Valid(4) || !colors.Valid(3) {
		t.Error("Valid is wrong at 0, 3 or 4")
	}
	if s := colors.String(9); s != "color(9)" {
		t.Errorf("String(9) = %q", s)
	}
	if _, err := colors.Marshal(9); err == nil {
		t.Error("Marshal(9) gave no error")
	}
	var c color = 2
	if err := colors.Unmarshal(nil, &c); err != nil || c != 0 {
		t.Errorf("Unmarshal(empty) = %d, %v; want unset", c, err)
	}
}
