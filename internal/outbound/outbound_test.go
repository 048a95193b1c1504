package outbound

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestInternalAddressesAreRefused(t *testing.T) {
	strict, dev := Policy{}, Policy{AllowLoopback: true}
	for _, c := range []struct {
		addr        string
		strict, dev bool // allowed
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"10.0.0.1", false, false},
		{"::ffff:10.0.0.1", false, false},
		{"64:ff9b::a00:1", false, false}, // 10.0.0.1 through NAT64
		{"172.16.5.5", false, false},
		{"192.168.1.1", false, false},
		{"100.64.1.1", false, false},
		{"169.254.169.254", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"fe80::1", false, false},
		{"fd00:ec2::254", false, false},
		{"224.0.0.1", false, false},
		{"fec0::1", false, false},
		{"64:ff9b:1::a00:1", false, false},
		{"2002:a00:1::1", false, false},   // 6to4 wrapping 10.0.0.1
		{"2002:5db8:d822::1", true, true}, // 6to4 wrapping 93.184.216.34
		{"255.255.255.255", false, false},
		{"::7f00:1", false, false},        // IPv4-compatible 127.0.0.1
		{"::a9fe:a9fe", false, false},     // IPv4-compatible 169.254.169.254
		{"::ffff:0:7f00:1", false, false}, // SIIT
		{"2001::1", false, false},         // Teredo
		{"100::1", false, false},
		{"2001:db8::1", false, false},
	} {
		a := netip.MustParseAddr(c.addr)
		if got := strict.Check(a) == nil; got != c.strict {
			t.Errorf("strict %s: allowed=%v, want %v", c.addr, got, c.strict)
		}
		if got := dev.Check(a) == nil; got != c.dev {
			t.Errorf("loopback allowed %s: allowed=%v, want %v", c.addr, got, c.dev)
		}
	}
}

func TestURLsAreCheckedAsWritten(t *testing.T) {
	strict, dev := Policy{}, Policy{AllowLoopback: true}
	for _, c := range []struct {
		url         string
		strict, dev bool
	}{
		{"https://hooks.example.com/rocketfin", true, true},
		{"http://hooks.example.com/rocketfin", false, false},
		{"http://127.0.0.1:8080/hook", false, true},
		{"http://localhost:8080/hook", false, true},
		{"https://localhost/hook", false, true},
		{"http://[::1]:8080/hook", false, true},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"https://10.0.0.1/hook", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"/relative", false, false},
	} {
		if _, err := strict.CheckURL(c.url); (err == nil) != c.strict {
			t.Errorf("strict %s: %v", c.url, err)
		}
		if _, err := dev.CheckURL(c.url); (err == nil) != c.dev {
			t.Errorf("loopback allowed %s: %v", c.url, err)
		}
	}
}

// TestNamesAreCheckedWhenConnecting: a name resolving (with a resolver the test controls) to an
// internal address is refused at connection time, even among public addresses; no traffic goes
// anywhere but loopback.
func TestNamesAreCheckedWhenConnecting(t *testing.T) {
	answers := map[string][]netip.Addr{
		"rebind.example": {netip.MustParseAddr("127.0.0.1")},
		"mixed.example":  {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("93.184.216.34")},
		"meta.example":   {netip.MustParseAddr("169.254.169.254")},
	}
	p := Policy{Lookup: func(_ context.Context, host string) ([]netip.Addr, error) { return answers[host], nil }}
	c := p.Client(2 * time.Second)
	for host := range answers {
		_, err := p.Post(context.Background(), c, "https://"+host+"/hook", nil, []byte(`{}`))
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want a refusal", host, err)
		}
	}
}

// TestRedirectsAreNotFollowedAndAnswersAreCut: a receiver on loopback (allowed for tests) that
// redirects to a private address is answered with its own 302, the private address never
// reached; a long answer is read to the limit.
func TestRedirectsAreNotFollowedAndAnswersAreCut(t *testing.T) {
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/steal", http.StatusFound)
	}))
	defer redirect.Close()
	long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 10<<10)))
	}))
	defer long.Close()
	p := Policy{AllowLoopback: true}
	c := p.Client(2 * time.Second)
	a, err := p.Post(context.Background(), c, redirect.URL+"/hook", nil, []byte(`{}`))
	if err != nil || a.Status != http.StatusFound {
		t.Fatalf("redirect: %+v %v", a, err)
	}
	a, err = p.Post(context.Background(), c, long.URL, http.Header{"Webhook-Id": {"msg_1"}}, []byte(`{}`))
	if err != nil || a.Status != http.StatusOK || len(a.Body) != MaxAnswerBytes {
		t.Fatalf("long answer: %d bytes, %v", len(a.Body), err)
	}
	if _, err := (Policy{}).Post(context.Background(), c, long.URL, nil, []byte(`{}`)); !errors.Is(err, ErrRefused) {
		t.Fatalf("loopback without the setting: %v", err)
	}
}

// TestResolveChecksEveryAddressAtCreation: an endpoint is refused when written with plain http
// (except in the sandbox's AllowHTTP), and when its name resolves, now, to an internal address.
func TestResolveChecksEveryAddressAtCreation(t *testing.T) {
	answers := map[string][]netip.Addr{
		"hooks.example":  {netip.MustParseAddr("93.184.216.34")},
		"rebind.example": {netip.MustParseAddr("127.0.0.1")},
		"mixed.example":  {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")},
		"meta.example":   {netip.MustParseAddr("169.254.169.254")},
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := answers[host]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	}
	live, sandbox := Policy{Lookup: lookup}, Policy{Lookup: lookup, AllowHTTP: true}
	for _, c := range []struct {
		url           string
		live, sandbox bool
	}{
		{"https://hooks.example/rf", true, true},
		{"http://hooks.example/rf", false, true},
		{"https://rebind.example/rf", false, false},
		{"http://mixed.example/rf", false, false},
		{"https://meta.example/rf", false, false},
		{"http://169.254.169.254/latest", false, false},
		{"http://10.0.0.1/rf", false, false},
		{"http://127.0.0.1:9/rf", false, false},
		{"http://[fd00:ec2::254%251]/latest", false, false},
		{"http://[fe80::1%25lo]/rf", false, false},
		{"https://nowhere.example/rf", false, false},
	} {
		if _, err := live.Resolve(context.Background(), c.url); (err == nil) != c.live || (err != nil && !errors.Is(err, ErrRefused)) {
			t.Errorf("live %s: %v", c.url, err)
		}
		if _, err := sandbox.Resolve(context.Background(), c.url); (err == nil) != c.sandbox {
			t.Errorf("sandbox %s: %v", c.url, err)
		}
	}
}
