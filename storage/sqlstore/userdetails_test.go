package sqlstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzStringList holds stringList to json.Unmarshal: whatever it reads,
// it reads as json.Unmarshal does, and it reads every stored list of
// sources (sourcesText) of strings without escapes (group ids have none).
//
//	go test ./storage/sqlstore -run '^$' -fuzz FuzzStringList -fuzztime 30s
func FuzzStringList(f *testing.F) {
	for _, seed := range []string{`[]`, `["direct"]`, `["a","b"]`, ` [ "a" , "b" ] `, `["a,b"]`, `["a\"b"]`, `null`, `["a",]`, `[1]`, `["a""b"]`, `[","]`, "[\"a\",\u00a0\"b\"]", `["a"`, `[""]`} {
		f.Add(seed, "g1", "g,2")
	}
	f.Fuzz(func(t *testing.T, raw, a, b string) {
		if got, ok := stringList([]byte(raw)); ok {
			var want []string
			if err := json.Unmarshal([]byte(raw), &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: read %q, json.Unmarshal %q (%v)", raw, got, want, err)
			}
		}
		sources := []string{a, b}
		stored := sourcesText(sources)
		got, ok := stringList([]byte(stored))
		if !ok && !strings.Contains(stored, `\`) {
			t.Fatalf("%s: not read, though it has no escape", stored)
		}
		if ok && !reflect.DeepEqual(got, sources) {
			t.Fatalf("%s: read %q", stored, got)
		}
	})
}
