// Package schemas defines the SCIM schemas and resource types scimd serves:
// the core User schema with the enterprise extension and the licensing
// extension (generated from the product catalog), and the core Group
// schema. It builds on the schema definitions of elimity-com/scim and must
// not touch storage or HTTP.
package schemas
