// Package outbound is how RocketFin calls addresses its customers choose (webhook endpoints):
// an HTTP client that refuses server-side request forgery. A destination must be https (plain
// http only to loopback, and only where the setting allows it for development); every address a
// host name resolves to is checked at connection time, and the connection goes to the very
// address checked, so a DNS answer that changes between the check and the call (rebinding) cannot
// reach an internal service; loopback, private, shared, link-local (the cloud metadata service),
// multicast and unspecified addresses are refused, also when written as IPv4-mapped IPv6 or NAT64;
// redirects are not followed; answers are read up to a small limit.
package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy decides which destinations are allowed.
type Policy struct {
	// AllowLoopback admits http and https to 127.0.0.0/8, ::1 and localhost, for development and
	// test suites only (ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK); private and metadata ranges stay refused.
	AllowLoopback bool
	// AllowHTTP admits plain http to any address the policy allows (sandbox endpoints); without it
	// plain http goes only to loopback, and only under AllowLoopback.
	AllowHTTP bool
	// Lookup resolves a host name; nil uses the system resolver. Tests give their own.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// ErrRefused wraps every refusal of a destination.
var ErrRefused = errors.New("destination refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// special are the ranges no customer endpoint may be in.
var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated (SIIT) address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Check refuses an address no request may reach.
func (p Policy) Check(a netip.Addr) error {
	if a.Zone() != "" {
		// A zone (fe80::1%eth0) would make every range below miss: no scoped address is public.
		return refused("%s names a network interface", a)
	}
	a = a.Unmap()
	// IPv6 addresses that carry an IPv4 one are judged by it.
	if b := a.As16(); nat64.Contains(a) {
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	} else if sixTo4.Contains(a) {
		a = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	if p.AllowLoopback && a.IsLoopback() {
		return nil
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return refused("%s is %s", a, s.what)
		}
	}
	if !a.IsGlobalUnicast() {
		return refused("%s is not a global unicast address", a)
	}
	return nil
}

// CheckURL checks a destination as written (before any connection): an absolute http(s) URL
// without credentials, https unless the policy admits loopback and the host is loopback, and a
// host that is not itself a refused address. Host names are checked when connecting.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, refused("not an absolute URL")
	}
	if u.User != nil {
		return nil, refused("credentials in the URL are not allowed")
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return nil, refused("an address with an interface zone is not a public address")
	}
	loopbackHost := host == "localhost"
	if a, err := netip.ParseAddr(host); err == nil {
		if err := p.Check(a); err != nil {
			return nil, err
		}
		loopbackHost = a.Unmap().IsLoopback()
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP && !(p.AllowLoopback && loopbackHost) {
			return nil, refused("use https (plain http is allowed only to loopback in development)")
		}
	default:
		return nil, refused("the scheme must be https")
	}
	if loopbackHost && !p.AllowLoopback {
		return nil, refused("%s is a loopback host", host)
	}
	return u, nil
}

// Resolve checks a destination as CheckURL does, then every address its host resolves to now:
// what an endpoint's creation checks (each delivery checks again when it connects).
func (p Policy) Resolve(ctx context.Context, raw string) (*url.URL, error) {
	u, err := p.CheckURL(raw)
	if err != nil {
		return nil, err
	}
	addrs, err := p.lookup(ctx, u.Hostname())
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, err
		}
		return nil, refused("%s does not resolve: %v", u.Hostname(), err)
	}
	if len(addrs) == 0 {
		return nil, refused("%s resolves to no address", u.Hostname())
	}
	for _, a := range addrs {
		if err := p.Check(a); err != nil {
			return nil, fmt.Errorf("%s: %w", u.Hostname(), err)
		}
	}
	return u, nil
}

func (p Policy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if host == "localhost" {
		if !p.AllowLoopback {
			return nil, refused("localhost is a loopback host")
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	if p.Lookup != nil {
		return p.Lookup(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// dial resolves host, refuses the connection if any address it resolves to is refused (so that a
// name cannot mix a public address with an internal one), and connects to the checked address.
func (p Policy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := p.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s resolves to no address", host)
	}
	for _, a := range addrs {
		if err := p.Check(a); err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
	}
	// The address connected to is checked once more by the dialer itself: belt and braces for any
	// path that would reach the network without the check above.
	d := net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return refused("cannot read %s", address)
		}
		return p.Check(ap.Addr())
	}}
	var last error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// Client is an HTTP client under the policy: at most timeout per request, no redirects, no proxy
// from the environment.
func (p Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.dial,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   16, // a burst of deliveries to one receiver reuses its connections
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Answer is what a destination answered, its body cut to the limit.
type Answer struct {
	Status  int
	Body    string
	Latency time.Duration
}

// MaxAnswerBytes bounds what is read of an answer.
const MaxAnswerBytes = 4 << 10

// Post sends body to rawURL under the policy; a redirect answers as its own 3xx status.
func (p Policy) Post(ctx context.Context, c *http.Client, rawURL string, header http.Header, body []byte) (Answer, error) {
	u, err := p.CheckURL(rawURL)
	if err != nil {
		return Answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return Answer{Latency: time.Since(start)}, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, MaxAnswerBytes))
	return Answer{Status: res.StatusCode, Body: string(b), Latency: time.Since(start)}, nil
}
