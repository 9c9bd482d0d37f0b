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
	// License when it is set, else with any license but none.
	ProductID string
	License   LicenseType
	// Active, when set, keeps the active (or inactive) users.
	Active *bool
}

// Cond is the filter's condition; nil selects every user.
func (f UserFilter) Cond() Cond {
	var conds []Cond
	if f.ProductID != "" {
		attr := Attr{Path: []string{LicensingURN, f.ProductID}}
		if f.License == "" {
			conds = append(conds, Compare{Attr: attr, Op: OpNe, Value: string(LicenseNone)})
		} else {
			conds = append(conds, Compare{Attr: attr, Op: OpEq, Value: string(f.License)})
		}
	}
	if f.Active != nil {
		conds = append(conds, Compare{Attr: Attr{Path: []string{"active"}, Kind: KindBool}, Op: OpEq, Value: *f.Active})
	}
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return conds[0]
	}
	return And(conds)
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
