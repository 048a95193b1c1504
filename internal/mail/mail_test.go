package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/mail"
	"github.com/rocketfin/rocketfin/internal/mail/mailtest"
)

func TestSendsThroughSTARTTLSWithAuthentication(t *testing.T) {
	srv := mailtest.Start(t, "rocket", "s3cret")
	s, err := mail.New(mail.Config{URL: srv.URL(), From: "RocketFin <no-reply@rocketfin.test>", TLS: srv.ClientTLS}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Delivers() {
		t.Fatal("an SMTP sender says it does not deliver")
	}
	msg := mail.Message{To: "Ada <ada@example.com>", Subject: "Vérifiez votre adresse", Text: "Bonjour,\nouvrez https://x.test/verify-email?token=abc=def\n", Link: "https://x.test"}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got, ok := srv.Next(5 * time.Second)
	if !ok {
		t.Fatal("no message arrived")
	}
	if got.From != "no-reply@rocketfin.test" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
		t.Fatalf("envelope %s → %v", got.From, got.To)
	}
	if got.Subject != msg.Subject || got.Text != msg.Text {
		t.Fatalf("subject %q text %q", got.Subject, got.Text)
	}
	if got.Header.Get("Message-Id") == "" || got.Header.Get("Date") == "" {
		t.Fatalf("headers %v", got.Header)
	}
}

func TestAWrongPasswordIsAnError(t *testing.T) {
	srv := mailtest.Start(t, "rocket", "s3cret")
	url := strings.Replace(srv.URL(), "s3cret", "wrong", 1)
	s, err := mail.New(mail.Config{URL: url, From: "no-reply@rocketfin.test", TLS: srv.ClientTLS}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "x", Text: "y"}); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: %v (must fail without echoing the password)", err)
	}
}

func TestWithoutSMTPTheLinkGoesToTheLog(t *testing.T) {
	var buf bytes.Buffer
	s, err := mail.New(mail.Config{From: "no-reply@rocketfin.test"}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Delivers() {
		t.Fatal("the log sender says it delivers")
	}
	if err := s.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "Verify", Text: "…", Link: "http://127.0.0.1:8080/verify-email?token=t"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "token=t") || !strings.Contains(buf.String(), "ROCKETFIN_SMTP_URL") {
		t.Fatalf("log: %s", buf.String())
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	for _, c := range []mail.Config{
		{URL: "http://mail.example", From: "a@b.example"},
		{URL: "smtp://", From: "a@b.example"},
		{URL: "smtp://mail.example", From: "not an address"},
	} {
		if _, err := mail.New(c, slog.Default()); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
