package scim

import (
	"slices"
	"testing"
)

// TestBulkRefs finds the bulkIds an operation references: its path's id,
// whole string values, and quoted literals inside strings, each once.
func TestBulkRefs(t *testing.T) {
	for _, c := range []struct {
		path, data string
		want       []string
	}{
		{"/Users", `{"userName":"a"}`, nil},
		{"/Groups/bulkId:g", ``, []string{"g"}},
		{"/Groups/bulkId:g", `{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:u"},{"value":"bulkId:g"}]}]}`, []string{"g", "u"}},
		{"/Groups/x", `{"Operations":[{"op":"remove","path":"members[value eq \"bulkId:a\" or value eq \"bulkId:b\"]"}]}`, []string{"a", "b"}},
		{"/Groups/x", `{"Operations":[{"op":"remove","path":"members[value eq \"bulkId:a"}]}`, nil},
		{"/Users", `{"displayName":"not bulkId:x"}`, nil},
	} {
		if got := bulkRefs(c.path, []byte(c.data)); !slices.Equal(got, c.want) {
			t.Errorf("bulkRefs(%q, %s) = %q, want %q", c.path, c.data, got, c.want)
		}
	}
}

// TestStripRefs takes out the values that wait for an unresolved
// reference, members and complex attributes, core or extension, and
// refuses data holding one anywhere else.
func TestStripRefs(t *testing.T) {
	pending := func(ref string) bool { return ref == "p" }
	for _, c := range []struct {
		data, stripped, patch string
	}{
		{`{"displayName":"A","members":[{"value":"bulkId:p"},{"value":"id1"}]}`,
			`{"displayName":"A","members":[{"value":"id1"}]}`,
			`{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:p"}]}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`},
		{`{"displayName":"A","members":[{"value":"bulkId:p"}]}`,
			`{"displayName":"A"}`,
			`{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:p"}]}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`},
		{`{"userName":"u","urn:x:User":{"manager":{"value":"bulkId:p"},"n":1}}`,
			`{"urn:x:User":{"n":1},"userName":"u"}`,
			`{"Operations":[{"op":"add","path":"urn:x:User:manager","value":{"value":"bulkId:p"}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`},
		{`{"userName":"u","nickName":"bulkId:p","members":[{"value":"bulkId:p"}]}`, "", ""},
		{`{"members":[{"value":"bulkId:done"}]}`, "", ""},
	} {
		stripped, patch, ok := stripRefs([]byte(c.data), pending)
		if ok != (c.stripped != "") || string(stripped) != c.stripped || string(patch) != c.patch {
			t.Errorf("stripRefs(%s) = %s, %s, %v\nwant %s, %s", c.data, stripped, patch, ok, c.stripped, c.patch)
		}
	}
}
