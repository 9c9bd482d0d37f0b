package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
)

// benchBulkUsers is how many users each iteration of BenchmarkBulk
// creates.
const benchBulkUsers = 1000

// BenchmarkBulk creates 1,000 users per iteration, in a fresh account,
// once as one Bulk request and once as 1,000 single POSTs sent one after
// the other on one kept-alive connection (the same concurrency: one
// request at a time), on each backend. It reports the time per user.
//
//	SCIMD_TEST_POSTGRES=postgres://... go test ./server -run '^$' -bench BenchmarkBulk -benchtime 5x
func BenchmarkBulk(b *testing.B) {
	for _, be := range testenv.Backends(b) {
		h := newHarness(b, be.Open(b))
		user := func(i, n int) string {
			return fmt.Sprintf(`{%s,"userName":"bench-%d-%d@example.com","name":{"givenName":"Given","familyName":"Family"},"emails":[{"value":"bench-%d-%d@example.com","primary":true}]}`, userSchema, i, n, i, n)
		}
		b.Run(be.Name+"/bulk", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				_, bearer := h.account(b)
				ops := make([]string, benchBulkUsers)
				for n := range ops {
					ops[n] = fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":"u%d","data":%s}`, n, user(i, n))
				}
				body := bulkOps(ops...)
				b.StartTimer()
				status, _, raw := send(b, "POST", h.url+"/Bulk", bearer, "application/scim+json", body)
				if status != http.StatusOK || strings.Count(string(raw), `"status":"201"`) != benchBulkUsers {
					b.Fatalf("bulk: %d %.500s", status, raw)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(time.Microsecond)/float64(b.N*benchBulkUsers), "µs/user")
		})
		b.Run(be.Name+"/single", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				_, bearer := h.account(b)
				b.StartTimer()
				for n := range benchBulkUsers {
					if status, _, raw := send(b, "POST", h.url+"/Users", bearer, "application/scim+json", user(i, n)); status != http.StatusCreated {
						b.Fatalf("POST: %d %s", status, raw)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(time.Microsecond)/float64(b.N*benchBulkUsers), "µs/user")
		})
	}
}
