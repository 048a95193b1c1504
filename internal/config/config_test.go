package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsMatchTheDocumentation(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no settings: %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.SignupPerHour != 20 || c.KeyCacheTTL != 500*time.Millisecond ||
		c.EmailVerification != "required" || c.SMTPURL != "" || c.MailFrom != "RocketFin <no-reply@localhost>" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestInvalidSettingsAreAllReported(t *testing.T) {
	_, err := Load(env(map[string]string{
		"ROCKETFIN_SIGNUP_PER_HOUR":    "many",
		"ROCKETFIN_KEY_CACHE_TTL":      "5s",
		"DATABASE_URL":                 "mysql://x",
		"TLS_CERT_FILE":                "cert.pem",
		"ROCKETFIN_EMAIL_VERIFICATION": "maybe",
		"ROCKETFIN_SMTP_URL":           "http://mail.example",
		"ROCKETFIN_MAIL_FROM":          "nobody",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"ROCKETFIN_SIGNUP_PER_HOUR", "ROCKETFIN_KEY_CACHE_TTL", "DATABASE_URL", "TLS_KEY_FILE",
		"ROCKETFIN_EMAIL_VERIFICATION", "ROCKETFIN_SMTP_URL", "ROCKETFIN_MAIL_FROM"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":             "postgres://app:hunter2secret@db:5432/rf",
		"ROCKETFIN_OPERATOR_TOKEN": "op-token-0123456789abcdef",
		"ROCKETFIN_SMTP_URL":       "smtp://mailer:hunter2secret@smtp.example:587",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Masked() {
		if strings.Contains(v, "hunter2secret") || strings.Contains(v, "op-token-0123456789abcdef") {
			t.Errorf("%s shows a secret: %q", k, v)
		}
	}
}

func TestAPoolTooSmallForTheSandboxWritersIsRefused(t *testing.T) {
	if _, err := Load(env(map[string]string{"ROCKETFIN_DB_MAX_CONNS": "2"})); err == nil || !strings.Contains(err.Error(), "ROCKETFIN_DB_MAX_CONNS") {
		t.Fatalf("a pool of 2: %v", err)
	}
	if _, err := Load(env(map[string]string{"ROCKETFIN_CHARGE_TRANSACTIONS": "0"})); err == nil {
		t.Error("ROCKETFIN_CHARGE_TRANSACTIONS=0 accepted")
	}
	if _, err := Load(env(map[string]string{"ROCKETFIN_JOB_DB_MAX_CONNS": "1"})); err == nil {
		t.Fatal("a job pool of 1")
	}
	if c, err := Load(env(map[string]string{"ROCKETFIN_DB_MAX_CONNS": "4"})); err != nil || c.DBMaxConns != 4 {
		t.Fatalf("a pool of 4: %+v %v", c.DBMaxConns, err)
	}
}
