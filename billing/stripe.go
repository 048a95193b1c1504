package billing

import (
	"errors"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// StripeOptions say how to reach Stripe.
type StripeOptions struct {
	// SecretKey is the account's secret key (sk_test_… or sk_live_…).
	SecretKey string
	// APIBase is https://api.stripe.com in production, stripe-mock in tests.
	APIBase string
	// MaxNetworkRetries is how often stripe-go itself retries a request
	// (with an idempotency key); 0 leaves every retry to the caller.
	MaxNetworkRetries int64
	// HTTPClient is optional; its timeout bounds every call.
	HTTPClient *http.Client
}

// NewStripeClient returns a Stripe API client that uses no global state.
func NewStripeClient(o StripeOptions) *client.API {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	traced := *hc // each Stripe call is a span of the trace that made it
	traced.Transport = telemetry.Transport(hc.Transport)
	hc = &traced
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(o.APIBase),
		MaxNetworkRetries: stripe.Int64(o.MaxNetworkRetries),
		HTTPClient:        hc,
		// Errors are returned to the caller, which logs them without secrets.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	api := &client.API{}
	api.Init(o.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	return api
}

// stripeVerdict is what an error from Stripe means for a retry.
type stripeVerdict struct {
	// duplicate: Stripe already has a meter event with this identifier.
	duplicate bool
	// stale: the event's timestamp is outside what Stripe accepts.
	stale bool
	// permanent: Stripe-Should-Retry: false on a refusal.
	permanent bool
	// retryAfter is Stripe's Retry-After, when it sent one.
	retryAfter time.Duration
}

// judge reads a Stripe error. Anything it does not recognise (network
// errors, 5xx, 429) is worth retrying.
func judge(err error) stripeVerdict {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return stripeVerdict{}
	}
	var v stripeVerdict
	var shouldRetry string
	if se.LastResponse != nil {
		shouldRetry = se.LastResponse.Header.Get("Stripe-Should-Retry")
		if s := se.LastResponse.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				v.retryAfter = time.Duration(n) * time.Second
			}
		}
	}
	msg := strings.ToLower(se.Msg)
	switch {
	case isDuplicateIdentifier(se, msg):
		v.duplicate = true
	case se.Param == "timestamp":
		v.stale = true
	case se.HTTPStatusCode == http.StatusTooManyRequests || shouldRetry == "true":
	case shouldRetry == "false" && se.HTTPStatusCode == http.StatusBadRequest:
		// A refusal of this request as written; a wrong key (401) or a
		// missing object (404) is a configuration to fix, so those retry.
		v.permanent = true
	}
	return v
}

// isDuplicateIdentifier recognises Stripe's refusal of a meter event whose
// identifier it already holds. Stripe answers it as a 400
// invalid_request_error, "An event already exists with identifier …", with
// Stripe-Should-Retry: false and (as observed) no error code, so the
// message decides; a code, should Stripe add one, decides too.
func isDuplicateIdentifier(se *stripe.Error, msg string) bool {
	if se.Code == stripe.ErrorCodeResourceAlreadyExists || se.Code == "duplicate_meter_event" {
		return true
	}
	return se.HTTPStatusCode == http.StatusBadRequest && strings.Contains(msg, "identifier") &&
		(strings.Contains(msg, "already exists") || strings.Contains(msg, "duplicate"))
}
