package main

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/alecthomas/kong"
)

// finiteFloat decodes a float64 flag and refuses NaN and ±Inf (and values
// too large for a float64): no float flag of normtap means them, and a NaN
// passes every range check written as a comparison. kong puts the flag's
// name in front of the error and exits 2.
func finiteFloat() kong.MapperFunc {
	return func(ctx *kong.DecodeContext, target reflect.Value) error {
		t, err := ctx.Scan.PopValue("float")
		if err != nil {
			return err
		}
		var x float64
		switch v := t.Value.(type) {
		case string:
			x, err = strconv.ParseFloat(v, 64)
			if err != nil && !math.IsInf(x, 0) {
				return fmt.Errorf("%q is not a number", v)
			}
		case float64:
			x = v
		default:
			x = reflect.ValueOf(v).Convert(reflect.TypeOf(float64(0))).Float()
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v: want a finite number", t.Value)
		}
		target.SetFloat(x)
		return nil
	}
}

// givenFlags are the names of the flags given on the command line (not
// those left at their defaults), from kong's parse path.
func givenFlags(kctx *kong.Context) map[string]bool {
	given := map[string]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil {
			given[p.Flag.Name] = true
		}
	}
	return given
}
