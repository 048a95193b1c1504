package config

import (
	"strings"
	"testing"
	"time"
)

func TestBillingSettingsDefaultValidateAndNeverShowTheKeys(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.StripeSecretKey != "" || c.StripeAPIBase != "https://api.stripe.com" || c.StripeMeterEventName != "rocketfin_analysis" ||
		c.PastDueGrace != 7*24*time.Hour || c.BillingInterval != 5*time.Second {
		t.Fatalf("billing defaults = %+v", c)
	}
	if got := c.Masked()["stripe"]; got != "off" {
		t.Errorf("stripe with no key shows %q, want off", got)
	}

	_, err = Load(env(map[string]string{"STRIPE_SECRET_KEY": "pk_test_publishable", "STRIPE_API_BASE": "localhost:12111",
		"ROCKETFIN_PAST_DUE_GRACE": "-1h", "ROCKETFIN_BILLING_INTERVAL": "2h"}))
	for _, name := range []string{"STRIPE_SECRET_KEY", "STRIPE_API_BASE", "ROCKETFIN_PAST_DUE_GRACE", "ROCKETFIN_BILLING_INTERVAL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}

	c, err = Load(env(map[string]string{"STRIPE_SECRET_KEY": "sk_test_51secretvalue", "STRIPE_WEBHOOK_SECRET": "whsec_secretvalue",
		"ROCKETFIN_PAST_DUE_GRACE": "72h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PastDueGrace != 72*time.Hour {
		t.Errorf("grace %s, want 72h", c.PastDueGrace)
	}
	for k, v := range c.Masked() {
		if strings.Contains(v, "secretvalue") {
			t.Errorf("Masked()[%s] = %q shows a secret", k, v)
		}
	}
	if m := c.Masked(); m["stripe"] != "on (test key)" || m["stripe_webhook_secret"] != "on" {
		t.Errorf("masked stripe settings %q / %q", m["stripe"], m["stripe_webhook_secret"])
	}
}
