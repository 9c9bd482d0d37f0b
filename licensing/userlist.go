package licensing

import "encoding/json"

// This file is what the admin API and the console share to list users:
// the filter by product, license type and active flag, and the name and
// email a person reads.

// LicensingURN is the SCIM licensing extension of User. In a Query, the
// attribute path [LicensingURN, productID] names the user's license type
// of the product (stores keep it as assignments, not in the document).
const LicensingURN = "urn:ietf:params:scim:schemas:extension:licensing:2.0:User"

// GroupLicensingURN is the SCIM licensing extension of Group: the same
// product attributes, given to the group's members (see inforce.go).
const GroupLicensingURN = "urn:ietf:params:scim:schemas:extension:licensing:2.0:Group"

// LicensesAttr is the read-only attribute of the User licensing extension
// that lists the licenses in force and pending. In a Query, Any over
// [LicensingURN, LicensesAttr] with conditions on [product], [license]
// and [status] selects users by their licenses (stores keep them as
// user_licenses).
const LicensesAttr = "licenses"

// UserFilter selects users as the admin pages list them.
type UserFilter struct {
	// ProductID, when not "", keeps the users holding the product: as
	// License when it is set, else with any license but none. License
	// none keeps the users who do not hold the product.
	ProductID string
	License   LicenseType
	// Direct compares ProductID and License with the users' direct
	// assignments (whatever their activity) instead of their licenses in
	// force (which inactive users never have, and which include the
	// licenses inherited from groups).
	Direct bool
	// Pending keeps the users waiting for a named seat (of ProductID when
	// it is set, of any product otherwise); License is then ignored.
	Pending bool
	// Active, when set, keeps the active (or inactive) users.
	Active *bool
}

// licensesOf is the condition that one of the user's licenses satisfies
// every condition of conds.
func licensesOf(conds ...Cond) Cond {
	return Any{Attr: Attr{Path: []string{LicensingURN, LicensesAttr}}, Cond: And(conds)}
}

// licenseField is a condition on one field of a license, for licensesOf.
func licenseField(name, value string) Cond {
	return Compare{Attr: Attr{Path: []string{name}}, Op: OpEq, Value: value}
}

// MemberOf is the condition that a user is a direct member of the group.
func MemberOf(groupID string) Cond {
	return Any{Attr: Attr{Path: []string{"groups"}},
		Cond: Compare{Attr: Attr{Path: []string{"value"}}, Op: OpEq, Value: groupID}}
}

// Cond is the filter's condition; nil selects every user.
func (f UserFilter) Cond() Cond {
	var conds []Cond
	switch {
	case f.Pending:
		fields := []Cond{licenseField("status", string(LicensePending))}
		if f.ProductID != "" {
			fields = append(fields, licenseField("product", f.ProductID))
		}
		conds = append(conds, licensesOf(fields...))
	case f.ProductID != "" && f.Direct:
		attr := Attr{Path: []string{LicensingURN, f.ProductID}}
		if f.License == "" {
			conds = append(conds, Compare{Attr: attr, Op: OpNe, Value: string(LicenseNone)})
		} else {
			conds = append(conds, Compare{Attr: attr, Op: OpEq, Value: string(f.License)})
		}
	case f.ProductID != "":
		fields := []Cond{licenseField("product", f.ProductID), licenseField("status", string(LicenseActive))}
		switch f.License {
		case "":
			conds = append(conds, licensesOf(fields...))
		case LicenseNone:
			conds = append(conds, Not{Cond: licensesOf(fields...)})
		default:
			conds = append(conds, licensesOf(append(fields, licenseField("license", string(f.License)))...))
		}
	}
	if f.Active != nil {
		conds = append(conds, Compare{Attr: Attr{Path: []string{"active"}, Kind: KindBool}, Op: OpEq, Value: *f.Active})
	}
	return allOf(conds)
}

// Contact is the name and email of a user as a person reads them.
type Contact struct {
	GivenName, FamilyName string
	// Email is the primary email, or the first one.
	Email string
}

// Contact reads the user's name and email from its SCIM document. A
// document it cannot read (never written by scimd) gives none.
func (u User) Contact() Contact {
	var doc struct {
		Name *struct {
			GivenName  string `json:"givenName"`
			FamilyName string `json:"familyName"`
		} `json:"name"`
		Emails []struct {
			Value   string `json:"value"`
			Primary bool   `json:"primary"`
		} `json:"emails"`
	}
	var c Contact
	if len(u.Doc) == 0 || json.Unmarshal(u.Doc, &doc) != nil {
		return c
	}
	if doc.Name != nil {
		c.GivenName, c.FamilyName = doc.Name.GivenName, doc.Name.FamilyName
	}
	for i, e := range doc.Emails {
		if e.Primary || i == 0 {
			c.Email = e.Value
		}
		if e.Primary {
			break
		}
	}
	return c
}
