package webhooks

import (
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestHeadersVerifyWithTheReferenceLibrary: a receiver using the Standard Webhooks reference
// library verifies a delivery with its secret, with either secret during a rotation, and refuses
// a changed body, another message id or another secret.
func TestHeadersVerifyWithTheReferenceLibrary(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	if !strings.HasPrefix(oldSecret, SecretPrefix) || oldSecret == newSecret {
		t.Fatalf("secrets: %q %q", oldSecret, newSecret)
	}
	body := []byte(`{"type":"company.critical_event","timestamp":"2026-11-30T10:00:00Z","data":{"event":"collective_proceeding"}}`)
	h, err := Headers("msg_1", time.Now(), body, newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during a rotation, want 2", n)
	}
	for _, s := range []string{oldSecret, newSecret} {
		w, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Verify(body, h); err != nil {
			t.Fatalf("a receiver with one of the secrets: %v", err)
		}
		if err := w.Verify([]byte(strings.Replace(string(body), "collective", "other", 1)), h); err == nil {
			t.Fatal("a changed body verified")
		}
	}
	other, _ := standardwebhooks.NewWebhook(NewSecret())
	if err := other.Verify(body, h); err == nil {
		t.Fatal("another secret verified")
	}
	h2 := h.Clone()
	h2.Set("webhook-id", "msg_2")
	w, _ := standardwebhooks.NewWebhook(newSecret)
	if err := w.Verify(body, h2); err == nil {
		t.Fatal("another message id verified")
	}
	// An attempt signed long ago is refused: every retry is signed at its own time.
	stale, _ := Headers("msg_1", time.Now().Add(-time.Hour), body, newSecret)
	if err := w.Verify(body, stale); err == nil {
		t.Fatal("an hour-old signature verified")
	}
	if _, err := Headers("msg_1", time.Now(), body); err == nil {
		t.Fatal("signed without a secret")
	}
}
