package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/sandbox"
)

func TestRemoteScoringCoreGivesTheSameAnswerAsTheInProcessOne(t *testing.T) {
	base, logs := startCore(t)
	remoteCoreAnswersAsTheLocalOne(t, base, logs)
}

// startCore starts `rocketfin scoring-core` through run() on a random port and returns its URL
// and its log.
func startCore(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	coreURL := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"scoring-core"}, func(k string) string {
			if k == "ROCKETFIN_ADDR" {
				return "127.0.0.1:0"
			}
			return ""
		}, &syncBuffer{}, func(d *deps) { d.logOut = logs; d.onReady = func(a string) { coreURL <- a } })
	}()
	var base string
	select {
	case base = <-coreURL:
	case err := <-done:
		t.Fatalf("scoring-core did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("scoring-core did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scoring-core stopped with %v", err)
		}
	})
	return base, logs
}

func remoteCoreAnswersAsTheLocalOne(t *testing.T, base string, logs *syncBuffer) {
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("core /healthz: %v %v", res, err)
	}
	res.Body.Close()
	body, _ := json.Marshal(liveBody(1))
	res, err = http.Post(base+"/v1/evaluate", "application/json", bytes.NewReader([]byte(`{"company":{"id":"x"},"colour":1}`)))
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("core accepted an unknown field: %v %v", res, err)
	}
	res.Body.Close()
	// the body of POST /v1/scores, metadata included, is the core's body
	withMetadata := liveBody(2)
	withMetadata["metadata"] = map[string]string{"crm_id": "OPP-1"}
	raw, _ := json.Marshal(withMetadata)
	res, err = http.Post(base+"/v1/evaluate", "application/json", bytes.NewReader(raw))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("core refused the body of POST /v1/scores with metadata: %v %v", res, err)
	}
	res.Body.Close()

	local := startServer(t, nil)
	remote := startServer(t, map[string]string{"ROCKETFIN_SCORING_URL": base})
	a := local.signup("rem@core.example")
	b := remote.signup("rem@core.example")
	la := local.doWith("POST", "/v1/scores", a.Live, body, map[string]string{"Accept-Language": "fr"})
	rb := remote.doWith("POST", "/v1/scores", b.Live, body, map[string]string{"Accept-Language": "fr"})
	expect(t, la, http.StatusOK)
	expect(t, rb, http.StatusOK)
	for _, field := range []string{"score", "pd_12m", "grade", "recommendation", "credit_limit", "reasons", "justification", "model_version", "data_quality"} {
		x, _ := json.Marshal(la.Body[field])
		y, _ := json.Marshal(rb.Body[field])
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs: in-process %s, remote %s", field, x, y)
		}
	}
	if !strings.Contains(logs.String(), `"route":"/v1/evaluate"`) {
		t.Fatal("the remote core was not called")
	}
	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// two evaluations: the direct call with metadata, and the remote server's
	if !strings.Contains(string(metrics), `rocketfin_http_requests_total{method="POST",route="/v1/evaluate",status="200"} 2`) {
		t.Fatalf("the core's /metrics does not count the evaluations:\n%.2000s", metrics)
	}
}

func TestScoringCallWorksOnTheEmbeddedDatabase(t *testing.T) {
	s := startServer(t, map[string]string{"DATABASE_URL": "", "ROCKETFIN_DATA_DIR": t.TempDir()})
	a := s.signup("emb@sqlite.example")
	s.unlimit(a.TenantID)
	statuses := hammer(s, a.Live, 20, func(i int) any { return liveBody(i) }, nil)
	if statuses[200] != 5 || statuses[402] != 15 {
		t.Fatalf("statuses %v, want 5×200 and 15×402", statuses)
	}
	sb := map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}}
	first := s.post(a.Sandbox, sb, map[string]string{"Idempotency-Key": "emb-1"})
	again := s.post(a.Sandbox, sb, map[string]string{"Idempotency-Key": "emb-1"})
	expect(t, first, http.StatusOK)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Raw, again.Raw) {
		t.Fatalf("replay on SQLite: %q %s", again.Header.Get("Idempotent-Replayed"), again.Raw)
	}
	list := s.do("GET", "/v1/scores", a.Live, nil)
	if n := len(list.Body["data"].([]any)); n != 5 {
		t.Fatalf("SQLite holds %d live decisions, want 5", n)
	}
	u := s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Live, nil)
	if strings.Count(string(u.Raw), "\n") != 6 {
		t.Fatalf("export on SQLite:\n%s", u.Raw)
	}
}
