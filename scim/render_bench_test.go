package scim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// benchUser is a user as the store reads it: in groups groups, half of
// which give the three products of the default catalog (as
// server.BenchmarkUserNameLookupLicensed sets them up).
func benchUser(groups int) licensing.User {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	u := licensing.User{AccountID: "a", ID: "8a27c771-8833-4408-a32f-5ca9f2c79cd3", UserName: "user0000001@example.com",
		Active: true, Doc: []byte(`{"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","primary":true}]}`),
		Created: now, LastModified: now, Version: 3}
	var named, concurrent []string
	for i := range groups {
		id := fmt.Sprintf("0f4c3f1e-6a2b-4c1d-9e8f-%012d", i)
		u.Groups = append(u.Groups, licensing.GroupRef{ID: id, Display: fmt.Sprintf("Group %03d", i)})
		if i%2 == 0 {
			if i/2%2 == 0 {
				named = append(named, id)
			} else {
				concurrent = append(concurrent, id)
			}
		}
	}
	if groups > 0 {
		u.Licenses = []licensing.License{
			{ProductID: "remote-support-v4", License: licensing.LicenseNamed, Status: licensing.LicenseActive, Sources: concurrent},
			{ProductID: "remote-support-v5", License: licensing.LicenseNamed, Status: licensing.LicenseActive, Sources: named},
			{ProductID: "service-desk", License: licensing.LicenseConcurrent, Status: licensing.LicenseActive, Sources: append(named, concurrent...)},
		}
	}
	return u
}

// BenchmarkRenderUser measures what a lookup does with a user once the
// store has read it: the SCIM representation, the projection and the
// JSON of a one-user ListResponse.
//
//	go test ./scim -run '^$' -bench RenderUser -benchmem
func BenchmarkRenderUser(b *testing.B) {
	srv := &Server{}
	rt := schemas.User(licensing.DefaultCatalog())
	for _, n := range []int{0, 50} {
		u := benchUser(n)
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			req := listRequest{Count: 100, StartIndex: 1}
			w := &discardWriter{header: http.Header{}}
			r := httptest.NewRequest(http.MethodGet, "/scim/v2/Users", nil)
			for b.Loop() {
				res, err := userResource(rt.Catalog, u, "https://scim.example/scim/v2")
				if err != nil {
					b.Fatal(err)
				}
				w.size = 0
				srv.writeJSON(w, r, http.StatusOK, srv.listResponse(req, "https://scim.example/scim/v2", 1, "", page{rt: rt, resources: []scim.Resource{res}}))
			}
			size := w.size
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// discardWriter is a ResponseWriter that counts what it is given.
type discardWriter struct {
	header http.Header
	size   int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(int)     {}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.size += len(p)
	return len(p), nil
}
