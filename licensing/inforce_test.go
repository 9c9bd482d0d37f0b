package licensing

import (
	"reflect"
	"testing"
)

func TestHoldings(t *testing.T) {
	groups := map[string]map[string]LicenseType{
		"v5":   {"g2": LicenseNamed, "g1": LicenseNamed, "g3": LicenseConcurrent},
		"desk": {"g3": LicenseConcurrent, "g1": LicenseConcurrent},
		"v4":   {"g1": LicenseNamed},
	}
	got := Grants{Active: true, Direct: Assignments{"v4": LicenseConcurrent, "x": LicenseNone}, Groups: groups}.Holdings()
	want := map[string]Holding{
		"v5":   {License: LicenseNamed, Sources: []string{"g1", "g2"}, Meanwhile: []string{"g3"}},
		"desk": {License: LicenseConcurrent, Sources: []string{"g1", "g3"}},
		"v4":   {License: LicenseConcurrent, Direct: true, Sources: []string{SourceDirect}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Holdings = %+v, want %+v", got, want)
	}
	if got := (Grants{Direct: Assignments{"v4": LicenseNamed}, Groups: groups}).Holdings(); len(got) != 0 {
		t.Errorf("inactive user's entitlements = %+v, want none", got)
	}
}

func TestInForce(t *testing.T) {
	ls := []License{
		{ProductID: "v5", License: LicenseNamed, Status: LicensePending, Sources: []string{"g1"}},
		{ProductID: "v5", License: LicenseConcurrent, Status: LicenseActive, Sources: []string{"g2"}},
	}
	if got := InForce(ls, "v5"); got != LicenseConcurrent {
		t.Errorf("InForce(v5) = %s, want the concurrent license meanwhile", got)
	}
	if got := InForce(ls, "desk"); got != LicenseNone {
		t.Errorf("InForce(desk) = %s", got)
	}
	if ls[0].Reason() != ReasonNamedSeatsExhausted || ls[1].Reason() != "" {
		t.Errorf("reasons %q, %q", ls[0].Reason(), ls[1].Reason())
	}
}
