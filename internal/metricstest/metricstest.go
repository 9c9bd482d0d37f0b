// Package metricstest scrapes a /metrics endpoint and reads the samples,
// for tests of the metrics scimd serves. Only tests import it.
package metricstest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Snapshot is one scrape, by metric family name.
type Snapshot map[string]*dto.MetricFamily

// Scrape GETs url and parses the answer in Prometheus' text format. An
// answer other than 200, or one that does not parse, fails the test.
func Scrape(t testing.TB, url string) Snapshot {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d: %s", url, resp.StatusCode, body)
	}
	return Parse(t, string(body))
}

// Parse reads metrics in the text format, failing the test if they do not
// parse.
func Parse(t testing.TB, text string) Snapshot {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	return fams
}

// Value returns the sum of the samples of the family whose labels include
// the name, value pairs of labels (a counter's, a gauge's or an untyped
// value; a histogram's count of observations), and whether any matched.
func (s Snapshot) Value(name string, labels ...string) (float64, bool) {
	if len(labels)%2 != 0 {
		panic("metricstest: labels must be name, value pairs")
	}
	fam := s[name]
	if fam == nil {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// Labels returns every label of every sample, as "name=value".
func (s Snapshot) Labels() []string {
	var out []string
	for _, fam := range s {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				out = append(out, fmt.Sprintf("%s=%s", l.GetName(), l.GetValue()))
			}
		}
	}
	return out
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
