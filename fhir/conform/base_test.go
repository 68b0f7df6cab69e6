package conform

import (
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"testing"
)

// TestBaseValidatorAgrees: the BaseValidator answers every resource as
// Validator.Base does: HL7's examples, and the first example of each
// resource type with an element (a top-level one, or one inside the
// first value of a top-level one) removed, or replaced by a string, a
// number or an object.
func TestBaseValidatorAgrees(t *testing.T) {
	full := validator(t)
	base, err := DefaultBase()
	if err != nil {
		t.Fatal(err)
	}
	compare := func(what string, raw []byte) {
		t.Helper()
		wi, wh, werr := full.Base(raw)
		gi, gh, gerr := base.Base(raw)
		if !reflect.DeepEqual(gi, wi) || gh != wh || (gerr == nil) != (werr == nil) {
			t.Errorf("%s: BaseValidator says %v %v %v, Validator.Base %v %v %v", what, gi, gh, gerr, wi, wh, werr)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range full.Examples() {
			if !yield(n) {
				return
			}
		}
	})
	cases, failing := 0, 0
	mutated := map[string]bool{}
	for _, name := range names {
		raw := full.Examples()[name]
		compare(name, raw)
		var res map[string]any
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		typ, _ := res["resourceType"].(string)
		if mutated[typ] {
			continue
		}
		mutated[typ] = true
		// Every (object, key) of the resource, then each mutation of it.
		var walk func(v any, path string, depth int)
		walk = func(v any, path string, depth int) {
			if depth > 2 {
				return
			}
			switch v := v.(type) {
			case map[string]any:
				for _, k := range slices.Sorted(func(yield func(string) bool) {
					for k := range v {
						if !yield(k) {
							return
						}
					}
				}) {
					if k == "resourceType" {
						continue
					}
					old := v[k]
					for i, repl := range []any{nil, "x", 7, map[string]any{}} {
						if i == 0 {
							delete(v, k)
						} else {
							v[k] = repl
						}
						b, _ := json.Marshal(res)
						compare(name+" "+path+"."+k, b)
						if issues, _, _ := full.Base(b); len(issues) > 0 {
							failing++
						}
						cases++
					}
					v[k] = old
					walk(old, path+"."+k, depth+1)
				}
			case []any:
				if len(v) > 0 {
					walk(v[0], path+"[0]", depth)
				}
			}
		}
		walk(res, "", 1)
	}
	t.Logf("%d examples, %d mutations of %d of them (%d with issues)", len(names), cases, len(mutated), failing)
	if failing < cases/4 {
		t.Errorf("only %d of %d mutations have issues: the mutations do not exercise the check", failing, cases)
	}
}

// TestBaseValidatorHeap: LoadBase keeps a fraction of what Load keeps for
// the embedded package (1.55 MB: every profile, the value sets, the
// examples).
func TestBaseValidatorHeap(t *testing.T) {
	const budget = 400 << 10
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	b, err := LoadBase(packageTGZ)
	if err != nil {
		t.Fatal(err)
	}
	kept := heap() - before
	runtime.KeepAlive(b)
	t.Logf("LoadBase kept %d B of heap", kept)
	if kept > budget {
		t.Errorf("LoadBase kept %d B of heap, budget %d B", kept, budget)
	}
}
