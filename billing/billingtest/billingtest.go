// Package billingtest gives billing tests the real Stripe peer they need:
// the URL of the stripe-mock that scripts/test starts, and a recording
// reverse proxy in front of it that remembers every call, answers like
// Stripe where stripe-mock cannot (a meter event identifier sent twice),
// and can play an outage or rate limiting.
package billingtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/rocketfin/rocketfin/internal/testenv"
)

// MockURL is the stripe-mock base URL from STRIPE_MOCK_URL. Without it the
// test is skipped, except under CI=true or ROCKETFIN_REQUIRE_POSTGRES=1
// (scripts/test), where it fails.
func MockURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("STRIPE_MOCK_URL")
	if u != "" {
		return u
	}
	testenv.Missing(t, "STRIPE_MOCK_URL unset (scripts/test starts stripe-mock; or start stripe-mock -http-addr 127.0.0.1:12111 -https-addr 127.0.0.1:0 and export STRIPE_MOCK_URL=http://127.0.0.1:12111)")
	return ""
}

// Call is one request that reached stripe-mock.
type Call struct {
	Method string
	Path   string
	Form   url.Values
	// Status is what the client was answered.
	Status int
}

// Proxy sits between stripe-go and stripe-mock.
type Proxy struct {
	URL string

	upstream *httputil.ReverseProxy
	mu       sync.Mutex
	calls    []Call
	accepted map[string]bool
	down     bool
	failNext []failure
	// afterMeterEvent runs once stripe-mock answered a meter event and
	// before the answer is relayed: a test kills its worker there.
	afterMeterEvent func(identifier string)
	// override answers a request instead of stripe-mock when it returns true.
	override func(r *http.Request, form url.Values) (status int, body string, ok bool)
}

type failure struct {
	status  int
	headers map[string]string
}

// NewProxy starts a recording proxy to upstream, closed when the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("stripe-mock URL %q: %v", upstream, err)
	}
	p := &Proxy{upstream: httputil.NewSingleHostReverseProxy(target), accepted: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetDown makes the proxy hang up on every request (true) or forward again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// FailNext answers the next request with status and headers, without
// forwarding it (429 with Retry-After, 503, …).
func (p *Proxy) FailNext(status int, headers map[string]string) {
	p.mu.Lock()
	p.failNext = append(p.failNext, failure{status: status, headers: headers})
	p.mu.Unlock()
}

// AfterMeterEvent sets fn to run after stripe-mock accepted a meter event,
// before the client gets the answer.
func (p *Proxy) AfterMeterEvent(fn func(identifier string)) {
	p.mu.Lock()
	p.afterMeterEvent = fn
	p.mu.Unlock()
}

// Override lets fn answer requests in place of stripe-mock (for object
// states stripe-mock's fixtures cannot show).
func (p *Proxy) Override(fn func(r *http.Request, form url.Values) (status int, body string, ok bool)) {
	p.mu.Lock()
	p.override = fn
	p.mu.Unlock()
}

// Calls lists the calls to method and path that reached stripe-mock (or
// the duplicate check), in order.
func (p *Proxy) Calls(method, path string) []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Call
	for _, c := range p.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// MeterEventIdentifiers lists the identifier of every meter event sent
// (answered 200 or as a duplicate), in order, repeats included.
func (p *Proxy) MeterEventIdentifiers() []string {
	var ids []string
	for _, c := range p.Calls(http.MethodPost, "/v1/billing/meter_events") {
		ids = append(ids, c.Form.Get("identifier"))
	}
	return ids
}

// Accepted lists the distinct identifiers stripe-mock accepted.
func (p *Proxy) Accepted() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(p.accepted))
	for k := range p.accepted {
		out[k] = true
	}
	return out
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}

	p.mu.Lock()
	down := p.down
	var fail *failure
	if !down && len(p.failNext) > 0 {
		fail = &p.failNext[0]
		p.failNext = p.failNext[1:]
	}
	after, override := p.afterMeterEvent, p.override
	p.mu.Unlock()

	if down {
		// Like a peer that is gone: the connection closes with no answer.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	if fail != nil {
		for k, v := range fail.headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fail.status)
		fmt.Fprintf(w, `{"error":{"type":"api_error","message":"injected %d"}}`, fail.status)
		return
	}
	if override != nil {
		if status, out, ok := override(r, form); ok {
			p.record(r, form, status)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, out)
			return
		}
	}
	isMeterEvent := r.Method == http.MethodPost && r.URL.Path == "/v1/billing/meter_events"
	if isMeterEvent {
		id := form.Get("identifier")
		p.mu.Lock()
		dup := id != "" && p.accepted[id]
		p.mu.Unlock()
		if dup {
			// What Stripe answers and stripe-mock does not: a 400 without
			// an error code, told apart by its message.
			p.record(r, form, http.StatusBadRequest)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Stripe-Should-Retry", "false")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"type":"invalid_request_error","message":"An event already exists with identifier %s."}}`, id)
			return
		}
	}
	rec := httptest.NewRecorder()
	p.upstream.ServeHTTP(rec, r)
	if isMeterEvent && rec.Code == http.StatusOK {
		p.mu.Lock()
		p.accepted[form.Get("identifier")] = true
		p.mu.Unlock()
		if after != nil {
			after(form.Get("identifier"))
		}
	}
	p.record(r, form, rec.Code)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (p *Proxy) record(r *http.Request, form url.Values, status int) {
	p.mu.Lock()
	p.calls = append(p.calls, Call{Method: r.Method, Path: r.URL.Path, Form: form, Status: status})
	p.mu.Unlock()
}
