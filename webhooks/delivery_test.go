package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/jobs"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/keys"
)

// receiver is a customer's endpoint: it verifies every request with the Standard Webhooks
// reference library, against the secrets it knows, and answers what answer says.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// secrets verify; a request no secret verifies is counted bad.
	secrets  []string
	got      []received
	bad      []string
	inFlight map[string]int
	overlap  int
	answer   func(n int) int
	slow     time.Duration
	arrived  chan received
}

type received struct {
	id   string
	body map[string]any
	sigs int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{inFlight: map[string]int{}, answer: answer, arrived: make(chan received, 10_000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.inFlight[id]++
	if r.inFlight[id] > 1 {
		r.overlap++
	}
	secrets := append([]string(nil), r.secrets...)
	n := len(r.got) + 1
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight[id]--
		r.mu.Unlock()
	}()
	time.Sleep(r.slow)
	verified := false
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err == nil && wh.Verify(body, req.Header) == nil {
			verified = true
		}
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	rec := received{id: id, body: m, sigs: len(strings.Fields(req.Header.Get("webhook-signature")))}
	r.mu.Lock()
	if !verified {
		r.bad = append(r.bad, id)
	}
	r.got = append(r.got, rec)
	r.mu.Unlock()
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(n)
	}
	w.WriteHeader(status)
	r.arrived <- rec
}

func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	r.secrets = s
	r.mu.Unlock()
}

func (r *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	var out []received
	deadline := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case rec := <-r.arrived:
			out = append(out, rec)
		case <-deadline:
			t.Fatalf("received %d requests, want %d", len(out), n)
		}
	}
	return out
}

// rig is the service on a fresh database with a worker running.
type rig struct {
	db     *gorm.DB
	svc    *Service
	clk    *clock.Fake
	p      keys.Principal
	lookup atomic.Pointer[map[string][]netip.Addr]
}

func newRig(t *testing.T, db *gorm.DB, workers int) *rig {
	t.Helper()
	box, err := secretbox.Parse(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db, clk: clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	tenant := ids.New(ids.Tenant)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: tenant})
	r.p = keys.Principal{TenantID: tenant, Environment: keys.Sandbox, CredentialID: "key_test", Scopes: access.Every()}
	empty := map[string][]netip.Addr{}
	r.lookup.Store(&empty)
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := (*r.lookup.Load())[host]; ok {
			return a, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	quick := func(n int) (time.Duration, bool) { return 50 * time.Millisecond, n < len(Schedule)+1 }
	var first *Service
	for i := 0; i < max(workers, 1); i++ {
		ws := river.NewWorkers()
		q, err := jobs.Open(context.Background(), db, jobs.Options{Workers: ws, Queues: map[string]int{Queue: 10}, FetchPoll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		svc := New(Options{DB: db, Clock: r.clk, Box: box, Queue: q, AllowLoopback: true, Lookup: lookup, Retry: quick})
		svc.Register(ws)
		if first == nil {
			first = svc
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { q.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done; q.Close() })
	}
	r.svc = first
	return r
}

func (r *rig) endpoint(t *testing.T, url string, events ...string) Issued {
	t.Helper()
	if len(events) == 0 {
		events = []string{AllTypes}
	}
	is, err := r.svc.Create(context.Background(), r.p, CreateInput{URL: url, Events: events})
	if err != nil {
		t.Fatalf("create endpoint %s: %v", url, err)
	}
	return is
}

func (r *rig) emit(t *testing.T, typ string, data any) Event {
	t.Helper()
	var ev Event
	err := r.db.Transaction(func(tx *gorm.DB) error {
		var err error
		ev, err = r.svc.Emit(context.Background(), tx, r.clk.Now(), NewEvent{TenantID: r.p.TenantID, Environment: r.p.Environment,
			Type: typ, CompanyID: "PL5252248481", Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (r *rig) deliveries(t *testing.T, endpoint string) []Delivery {
	t.Helper()
	var out []Delivery
	if err := r.db.Where("endpoint_id = ?", endpoint).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func TestAnEventIsDeliveredOnceSignedForTheReferenceLibrary(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		r := newRig(t, db, 1)
		all := newReceiver(t, nil)
		drops := newReceiver(t, nil)
		a := r.endpoint(t, all.srv.URL+"/hooks", CriticalEvent)
		b := r.endpoint(t, drops.srv.URL+"/hooks", ScoreDropped)
		all.setSecrets(a.Secret)
		drops.setSecrets(b.Secret)
		ev := r.emit(t, CriticalEvent, map[string]any{"kind": "collective_proceeding"})

		got := all.wait(t, 1)
		if got[0].id != ev.ID || got[0].body["type"] != CriticalEvent || got[0].body["data"].(map[string]any)["kind"] != "collective_proceeding" {
			t.Fatalf("received %+v, want event %s", got[0], ev.ID)
		}
		if _, ok := got[0].body["timestamp"].(string); !ok {
			t.Fatalf("body lacks its timestamp: %v", got[0].body)
		}
		eventually(t, "the delivery is recorded", func() bool {
			d := r.deliveries(t, a.Endpoint.ID)
			return len(d) == 1 && d[0].Status == DeliverySucceeded
		})
		d := r.deliveries(t, a.Endpoint.ID)[0]
		if d.Attempts != 1 || d.LastStatusCode == nil || *d.LastStatusCode != 200 || d.DeliveredAt == nil || d.NextAttemptAt != nil {
			t.Fatalf("delivery %+v", d)
		}
		if len(all.bad) != 0 {
			t.Fatalf("signatures the reference library refused: %v", all.bad)
		}
		// The endpoint subscribed to score.dropped only got nothing.
		if n := len(r.deliveries(t, b.Endpoint.ID)); n != 0 || len(drops.got) != 0 {
			t.Fatalf("an endpoint not subscribed got %d deliveries", n)
		}
		// A redelivery (on SQLite too, where the transaction holds the one connection) arrives again
		// with the same webhook-id.
		if _, err := r.svc.Redeliver(context.Background(), r.p, ev.ID, a.Endpoint.ID); err != nil {
			t.Fatal(err)
		}
		if again := all.wait(t, 1); again[0].id != ev.ID {
			t.Fatalf("redelivered as %s, want %s", again[0].id, ev.ID)
		}
		// Signed with another secret, the reference library refuses it.
		all.setSecrets(NewSecret())
		r.emit(t, CriticalEvent, map[string]any{"kind": "payment_incident"})
		all.wait(t, 1)
		if len(all.bad) != 1 {
			t.Fatalf("a foreign secret verified: %v", all.bad)
		}
	})
}

func TestAReceiverDownIsRetriedWithTheSameWebhookID(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	rec := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	is := r.endpoint(t, rec.srv.URL)
	rec.setSecrets(is.Secret)
	ev := r.emit(t, ScoreDropped, map[string]any{"score": 420})
	got := rec.wait(t, 4)
	for _, g := range got {
		if g.id != ev.ID {
			t.Fatalf("attempt with webhook-id %s, want %s on every attempt", g.id, ev.ID)
		}
	}
	eventually(t, "the fourth attempt succeeds", func() bool {
		d := r.deliveries(t, is.Endpoint.ID)
		return len(d) == 1 && d[0].Status == DeliverySucceeded
	})
	d := r.deliveries(t, is.Endpoint.ID)[0]
	if d.Attempts != 4 || *d.LastStatusCode != http.StatusNoContent || d.LastError != nil {
		t.Fatalf("delivery %+v", d)
	}
	// its history holds every attempt: three 503s, then the 204
	h := d.History()
	if len(h) != 4 {
		t.Fatalf("history of %d attempts, want 4: %s", len(h), d.AttemptLog)
	}
	for i, a := range h {
		want, outcome := http.StatusServiceUnavailable, "failed"
		if i == 3 {
			want, outcome = http.StatusNoContent, "succeeded"
		}
		if a.Number != i+1 || a.StatusCode == nil || *a.StatusCode != want || a.Outcome != outcome || (a.Error == nil) != (i == 3) ||
			(i > 0 && a.AttemptedAt.Before(h[i-1].AttemptedAt)) {
			t.Fatalf("attempt %d in the history: %+v", i+1, a)
		}
	}
	e, _ := r.svc.Get(context.Background(), r.p, is.Endpoint.ID)
	if e.FailingSince != nil || e.Status != StatusEnabled {
		t.Fatalf("after a success the endpoint is %s, failing since %v", e.Status, e.FailingSince)
	}
	if len(rec.bad) != 0 {
		t.Fatalf("bad signatures: %v", rec.bad)
	}
}

func TestGoneDisablesTheEndpointAndTellsTheOthers(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	gone := newReceiver(t, func(int) int { return http.StatusGone })
	watcher := newReceiver(t, nil)
	g := r.endpoint(t, gone.srv.URL, CriticalEvent)
	w := r.endpoint(t, watcher.srv.URL, EndpointDisabled)
	watcher.setSecrets(w.Secret)
	r.emit(t, CriticalEvent, map[string]any{"kind": "payment_incident"})
	gone.wait(t, 1)
	got := watcher.wait(t, 1)
	if got[0].body["type"] != EndpointDisabled || got[0].body["data"].(map[string]any)["id"] != g.Endpoint.ID {
		t.Fatalf("the watcher got %v", got[0].body)
	}
	e, _ := r.svc.Get(context.Background(), r.p, g.Endpoint.ID)
	if e.Status != StatusDisabled || e.DisabledReason == nil || !strings.Contains(*e.DisabledReason, "410") {
		t.Fatalf("endpoint %s (%v)", e.Status, e.DisabledReason)
	}
	if d := r.deliveries(t, g.Endpoint.ID); len(d) != 1 || d[0].Status != DeliveryFailed || d[0].Attempts != 1 {
		t.Fatalf("deliveries %+v", d)
	}
	// A disabled endpoint gets no new deliveries; the event is listed.
	r.emit(t, CriticalEvent, map[string]any{"kind": "payment_incident"})
	if d := r.deliveries(t, g.Endpoint.ID); len(d) != 1 {
		t.Fatalf("a disabled endpoint got a delivery: %+v", d)
	}
	list, err := r.svc.ListEvents(context.Background(), r.p, pageOf(10), EventFilter{Type: EndpointDisabled})
	if err != nil || len(list) != 1 {
		t.Fatalf("webhook_endpoint.disabled events: %v %v", list, err)
	}
	// Enabled again, it receives; a redelivery carries the same webhook-id.
	status := StatusEnabled
	if _, err := r.svc.Update(context.Background(), r.p, g.Endpoint.ID, UpdateInput{Status: &status}); err != nil {
		t.Fatal(err)
	}
	gone.answer = func(int) int { return http.StatusOK }
	evs, _ := r.svc.ListEvents(context.Background(), r.p, pageOf(10), EventFilter{Type: CriticalEvent})
	if _, err := r.svc.Redeliver(context.Background(), r.p, evs[len(evs)-1].ID, g.Endpoint.ID); err != nil {
		t.Fatal(err)
	}
	if got := gone.wait(t, 1); got[0].id != evs[len(evs)-1].ID {
		t.Fatalf("redelivered with webhook-id %s, want %s", got[0].id, evs[len(evs)-1].ID)
	}
}

func TestThreeDaysOfFailuresDisableTheEndpoint(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	rec := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	is := r.endpoint(t, rec.srv.URL, CriticalEvent)
	r.emit(t, CriticalEvent, map[string]any{})
	rec.wait(t, 1)
	eventually(t, "the first failure is recorded", func() bool {
		e, _ := r.svc.Get(context.Background(), r.p, is.Endpoint.ID)
		return e.FailingSince != nil
	})
	r.clk.Advance(FailingLimit + time.Minute)
	rec.wait(t, 1)
	eventually(t, "the endpoint is disabled", func() bool {
		e, _ := r.svc.Get(context.Background(), r.p, is.Endpoint.ID)
		return e.Status == StatusDisabled
	})
	e, _ := r.svc.Get(context.Background(), r.p, is.Endpoint.ID)
	if !strings.Contains(*e.DisabledReason, "every attempt failed since") {
		t.Fatalf("reason %q", *e.DisabledReason)
	}
	d := r.deliveries(t, is.Endpoint.ID)
	if len(d) != 1 || d[0].Status != DeliveryFailed || d[0].Attempts < 2 || *d[0].LastStatusCode != 500 {
		t.Fatalf("deliveries %+v", d)
	}
}

// TestTwoWorkersNeverDeliverOneAttemptTwice: two job queues (two replicas) on one database work
// 200 deliveries; each arrives exactly once and never twice at the same time.
func TestTwoWorkersNeverDeliverOneAttemptTwice(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 2)
	rec := newReceiver(t, nil)
	rec.slow = 5 * time.Millisecond
	is := r.endpoint(t, rec.srv.URL)
	rec.setSecrets(is.Secret)
	const n = 200
	for i := range n {
		r.emit(t, ScoreUpdated, map[string]any{"i": i})
	}
	rec.wait(t, n)
	eventually(t, "every delivery is recorded", func() bool {
		var done int64
		r.db.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", is.Endpoint.ID, DeliverySucceeded).Count(&done)
		return done == n
	})
	time.Sleep(300 * time.Millisecond) // a duplicate would have arrived by now
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]int{}
	for _, g := range rec.got {
		seen[g.id]++
	}
	if len(rec.got) != n || len(seen) != n || rec.overlap != 0 || len(rec.bad) != 0 {
		t.Fatalf("%d requests for %d events, %d overlapping, %d badly signed", len(rec.got), len(seen), rec.overlap, len(rec.bad))
	}
}

func TestDuringARotationBothSecretsSign(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	oldOnly, newOnly := newReceiver(t, nil), newReceiver(t, nil)
	is := r.endpoint(t, oldOnly.srv.URL)
	rotated, err := r.svc.RotateSecret(context.Background(), r.p, is.Endpoint.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Secret == is.Secret || !strings.HasPrefix(rotated.Secret, SecretPrefix) {
		t.Fatal("rotation kept the secret")
	}
	if _, err := r.svc.RotateSecret(context.Background(), r.p, is.Endpoint.ID, time.Hour); err == nil {
		t.Fatal("a second rotation during the grace period")
	}
	oldOnly.setSecrets(is.Secret)
	r.emit(t, ScoreUpdated, map[string]any{})
	if got := oldOnly.wait(t, 1); got[0].sigs != 2 || len(oldOnly.bad) != 0 {
		t.Fatalf("%d signatures, %d refused by the old secret", got[0].sigs, len(oldOnly.bad))
	}
	url := newOnly.srv.URL
	if _, err := r.svc.Update(context.Background(), r.p, is.Endpoint.ID, UpdateInput{URL: &url}); err != nil {
		t.Fatal(err)
	}
	newOnly.setSecrets(rotated.Secret)
	r.emit(t, ScoreUpdated, map[string]any{})
	if newOnly.wait(t, 1); len(newOnly.bad) != 0 {
		t.Fatal("the new secret does not verify")
	}
	// After the grace period only the new secret signs.
	r.clk.Advance(time.Hour + time.Second)
	r.emit(t, ScoreUpdated, map[string]any{})
	if got := newOnly.wait(t, 1); got[0].sigs != 1 || len(newOnly.bad) != 0 {
		t.Fatalf("after the grace: %d signatures", got[0].sigs)
	}
}

// TestAddressesAreCheckedAtCreationAndAtEveryAttempt: names are resolved with a resolver the test
// controls; no traffic goes anywhere but loopback.
func TestAddressesAreCheckedAtCreationAndAtEveryAttempt(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	r.lookup.Store(&map[string][]netip.Addr{
		"hooks.example":  {netip.MustParseAddr("93.184.216.34")},
		"rebind.example": {netip.MustParseAddr("127.0.0.1")},
	})
	strict := New(Options{DB: r.db, Clock: r.clk, Box: r.svc.box, Queue: r.svc.queue, Lookup: r.svc.policy[keys.Live].Lookup})
	live := r.p
	live.Environment = keys.Live
	for _, url := range []string{"http://127.0.0.1:9/h", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/h",
		"https://rebind.example/h", "http://hooks.example/h", "https://[::ffff:10.0.0.1]/h", "https://unknown.example/h"} {
		if _, err := strict.Create(context.Background(), live, CreateInput{URL: url, Events: []string{AllTypes}}); err == nil {
			t.Errorf("live endpoint %s accepted", url)
		} else if !strings.Contains(err.Error(), "url") {
			t.Errorf("%s: %v does not name the field", url, err)
		}
	}
	// Accepted while the name is public, then DNS changes to a private address: the attempt is
	// refused before any connection.
	is := r.endpoint(t, "http://hooks.example:9/h")
	r.lookup.Store(&map[string][]netip.Addr{"hooks.example": {netip.MustParseAddr("10.0.0.7")}})
	r.emit(t, ScoreUpdated, map[string]any{})
	eventually(t, "the attempt is refused", func() bool {
		d := r.deliveries(t, is.Endpoint.ID)
		return len(d) == 1 && d[0].Attempts >= 1
	})
	d := r.deliveries(t, is.Endpoint.ID)[0]
	if d.LastError == nil || !strings.Contains(*d.LastError, "private") || d.LastStatusCode != nil {
		t.Fatalf("delivery %+v", d)
	}
}

func pageOf(n int) httpx.Page { return httpx.Page{Limit: n} }

// TestADeliveryThatFailsEveryAttemptDisablesItsEndpoint: when a delivery's last attempt fails, the
// endpoint has failed for the schedule's whole span (about three days, less jitter): it is
// disabled, whatever the jitter made of the span.
func TestADeliveryThatFailsEveryAttemptDisablesItsEndpoint(t *testing.T) {
	r := newRig(t, dbtest.Postgres(t), 1)
	rec := newReceiver(t, func(int) int { return http.StatusBadGateway })
	is := r.endpoint(t, rec.srv.URL, CriticalEvent)
	r.emit(t, CriticalEvent, map[string]any{})
	rec.wait(t, len(Schedule)+1)
	eventually(t, "the endpoint is disabled", func() bool {
		e, _ := r.svc.Get(context.Background(), r.p, is.Endpoint.ID)
		return e.Status == StatusDisabled
	})
	d := r.deliveries(t, is.Endpoint.ID)
	if len(d) != 1 || d[0].Status != DeliveryFailed || d[0].Attempts != len(Schedule)+1 {
		t.Fatalf("deliveries %+v", d)
	}
}
