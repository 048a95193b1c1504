// Package webhooks keeps a tenant's events (GET /v1/events) and delivers them to the endpoints it
// registers (/v1/webhook-endpoints), signed as Standard Webhooks prescribes
// (https://www.standardwebhooks.com) with the specification's reference library, so that any
// receiver using a Standard Webhooks library verifies them. An event and its deliveries are
// written in the transaction of the change they report; each attempt runs as a job of the queue
// (internal/jobs), retried with backoff over about three days with the event id as webhook-id on
// every attempt. Endpoint addresses go through internal/outbound (no internal address, at
// creation and at every attempt; no redirect); secrets are sealed at rest (internal/secretbox).
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every endpoint secret, as Standard Webhooks writes them.
const SecretPrefix = "whsec_"

// NewSecret draws an endpoint secret: 32 random bytes (the reference library accepts any key,
// even an empty one, so RocketFin chooses the size).
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails: the runtime aborts instead (Go 1.24+)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// Headers are the headers of one delivery attempt of message id at time at: webhook-id (the
// same on every retry, so that receivers drop duplicates), webhook-timestamp (the attempt's: the
// reference library refuses signatures more than five minutes old, so each attempt is signed
// afresh) and webhook-signature, one "v1,…" signature per secret, space-separated (during a
// rotation both the new and the previous secret sign, and a receiver with either verifies).
func Headers(id string, at time.Time, body []byte, secrets ...string) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, errors.New("sign a webhook: no secret")
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		w, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("sign a webhook: %w", err)
		}
		sig, err := w.Sign(id, at, body)
		if err != nil {
			return nil, fmt.Errorf("sign a webhook: %w", err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return h, nil
}
