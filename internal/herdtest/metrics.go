package herdtest

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one scrape of a Herd server's /metrics.
type Metrics map[string]*dto.MetricFamily

// ScrapeMetrics reads s's /metrics with token; the answer must be 200 and
// parse as Prometheus text.
func ScrapeMetrics(t testing.TB, s *Server, token string) Metrics {
	t.Helper()
	resp, body := s.DoResponse(t, "GET", "/metrics", token, nil)
	Expect(t, "/metrics", resp.StatusCode, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want text/plain", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// Value is the value of the first series of metric whose labels include
// the given name, value pairs (of a histogram: its count of samples), and
// whether there is one.
func (m Metrics) Value(metric string, labels ...string) (float64, bool) {
	for _, series := range m[metric].GetMetric() {
		got := map[string]string{}
		for _, l := range series.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			return series.GetGauge().GetValue() + series.GetCounter().GetValue() + series.GetUntyped().GetValue() +
				float64(series.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}
