package scim

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"testing"
)

// FuzzEncodeJSON holds appendJSON to json.Marshal's bytes over values of
// every kind it walks itself, built around fuzzed strings (escapes, HTML
// characters, invalid UTF-8, line and paragraph separators) and numbers,
// and over whatever a fuzzed JSON document decodes to.
//
//	go test ./scim -run '^$' -fuzz FuzzEncodeJSON -fuzztime 30s
func FuzzEncodeJSON(f *testing.F) {
	for _, seed := range []struct {
		key, value, doc string
		n               int64
	}{
		{"userName", "ann@example.com", `{"a":[1,"x",null,true,{"b":2.5}]}`, 0},
		{"<&>", "\"\\\n\r\t\b\f\x00\x1f\x7f", `"\u2028"`, -1},
		{"\xff\xfe", "a\u2028b\u2029c\xc3", `[]`, 1 << 62},
		{"", "ünïcödé 日本 🎉", `{"":{}}`, -42},
	} {
		f.Add(seed.key, seed.value, seed.doc, seed.n)
	}
	f.Fuzz(func(t *testing.T, key, value, doc string, n int64) {
		values := []any{
			nil, value, key, true, false, int(n), n, []string{key, value}, []string(nil), []any(nil), map[string]any(nil),
			map[string]any{key: value, value: []any{n, key, nil, map[string]any{}}, "z": []map[string]any{{key: int(n)}}},
			[]any{map[string]any{"value": value, "$ref": "https://x/" + key}, []string{}, []map[string]any(nil)},
			json.RawMessage(`{"b":1,"a":2}`), 2.5, float64(n) / 3, struct {
				A string `json:"a"`
			}{value},
		}
		var decoded any
		if json.Unmarshal([]byte(doc), &decoded) == nil {
			values = append(values, decoded, map[string]any{key: decoded})
		}
		for _, v := range values {
			want, wantErr := json.Marshal(v)
			got, err := appendJSON(nil, v)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%#v: error %v, json.Marshal's %v", v, err, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
			}
		}
	})
}

// TestFNV32a: the entity tags' hash is hash/fnv's FNV-1a, so tags stay
// what they were when it was computed with hash/fnv.
func TestFNV32a(t *testing.T) {
	for _, parts := range [][]string{nil, {""}, {"a"}, {"group-1", "\x00", "Support Tier 1", "\x00"}, {"ünï", "\x01", "x"}} {
		h := fnv.New32a()
		for _, p := range parts {
			h.Write([]byte(p))
		}
		got := offset32
		for _, p := range parts {
			got = got.add(p)
		}
		if uint32(got) != h.Sum32() {
			t.Errorf("%q: %x, hash/fnv %x", parts, uint32(got), h.Sum32())
		}
	}
}
