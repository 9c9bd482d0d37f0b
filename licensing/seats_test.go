package licensing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestProductAttribute(t *testing.T) {
	for id, want := range map[string]string{
		"remote-support-v5": "remoteSupportV5",
		"service-desk":      "serviceDesk",
		"x":                 "x",
		"a-b-c2":            "aBC2",
	} {
		if got := (Product{ID: id}).Attribute(); got != want {
			t.Errorf("Attribute(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestDefaultCatalogIsValid(t *testing.T) {
	c := DefaultCatalog()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if p, ok := c.ByAttribute("REMOTESUPPORTV5"); !ok || p.ID != "remote-support-v5" || p.Name != "Remote Support v5" {
		t.Fatalf("ByAttribute = %+v %v", p, ok)
	}
}

func TestParseCatalogReportsEveryProblem(t *testing.T) {
	_, err := ParseCatalog([]byte(`{"products":[{"id":"Bad_ID","name":"x"},{"id":"ok","name":""},{"id":"ok","name":"again"},{"id":"a-b","name":"1"},{"id":"ab","name":"2"}]}`))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"Bad_ID", "name must not be empty", "appears twice", "same attribute name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	if _, err := ParseCatalog([]byte(`{"products":[{"id":"x","name":"X","price":1}]}`)); err == nil {
		t.Error("unknown field accepted")
	}
	c, err := ParseCatalog([]byte(`{"products":[{"id":"chat","name":"Chat"}]}`))
	if err != nil || len(c.Products) != 1 {
		t.Fatalf("valid catalog refused: %v", err)
	}
}

func TestParseLicenseType(t *testing.T) {
	for in, want := range map[string]LicenseType{"Named": LicenseNamed, "CONCURRENT": LicenseConcurrent, "none": LicenseNone, "": LicenseNone} {
		if got, err := ParseLicenseType(in); err != nil || got != want {
			t.Errorf("ParseLicenseType(%q) = %q %v", in, got, err)
		}
	}
	if _, err := ParseLicenseType("shared"); !errors.Is(err, ErrInvalid) {
		t.Errorf("shared accepted: %v", err)
	}
}

func user(active bool, a Assignments) *User { return &User{Active: active, Assignments: a} }

func TestSeatErrorsSayTheNumbers(t *testing.T) {
	p := Product{ID: "remote-support-v5", Name: "Remote Support v5"}
	err := error(&NamedSeatsExhaustedError{Product: p, Assigned: 10, Total: 10})
	if err.Error() != "No named license left for Remote Support v5: 10 of 10 assigned." || !errors.Is(err, ErrSeatLimit) {
		t.Errorf("named: %q", err)
	}
	err = &SharedSeatsInUseError{Product: p, Occupied: 10, Total: 10}
	if err.Error() != "All shared licenses are in use. To start a session, please wait for an available license." || !errors.Is(err, ErrSeatLimit) {
		t.Errorf("shared: %q", err)
	}
	if !errors.Is(&SessionEndedError{Reason: EndedByAdmin}, ErrGone) || !strings.Contains((&SessionEndedError{Reason: EndedByAdmin}).Error(), "administrator") {
		t.Error("ended by admin must say so and match ErrGone")
	}
	if got := DefaultCatalog().Named(Product{ID: "service-desk"}); got.Name != "Service Desk" {
		t.Errorf("Named = %+v", got)
	}
}

func TestCatalogNameProducts(t *testing.T) {
	c := DefaultCatalog()
	errs := []error{
		&NamedSeatsExhaustedError{Product: Product{ID: "remote-support-v5"}, Assigned: 1, Total: 1},
		&PlanBelowAssignedError{Product: Product{ID: "remote-support-v5"}, Assigned: 2, Requested: 1},
		fmt.Errorf("wrapped: %w", &SharedSeatsInUseError{Product: Product{ID: "remote-support-v5"}}),
		&NotEntitledError{Product: Product{ID: "remote-support-v5"}},
	}
	for _, err := range errs {
		c.NameProducts(err)
		var named *NamedSeatsExhaustedError
		var below *PlanBelowAssignedError
		var full *SharedSeatsInUseError
		var ne *NotEntitledError
		var got Product
		switch {
		case errors.As(err, &named):
			got = named.Product
		case errors.As(err, &below):
			got = below.Product
		case errors.As(err, &full):
			got = full.Product
		case errors.As(err, &ne):
			got = ne.Product
		}
		if got.Name != "Remote Support v5" {
			t.Errorf("%T: product %+v, want it named from the catalog", err, got)
		}
	}
	unknown := &NamedSeatsExhaustedError{Product: Product{ID: "no-such-product"}}
	if c.NameProducts(unknown); unknown.Product.Name != "no-such-product" {
		t.Errorf("unknown product named %q, want its id", unknown.Product.Name)
	}
	plain := ErrNotFound
	if got := c.NameProducts(plain); got != plain {
		t.Errorf("NameProducts(%v) = %v", plain, got)
	}
}
