// Package mail sends RocketFin's few emails (the signup address check) through
// an SMTP server named by a URL, or, with none configured, writes them to the
// log so that a local first run needs no mail server.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Message is one plain-text email.
type Message struct {
	To      string
	Subject string
	Text    string
	// Link is the one link the message asks its reader to follow; the log sender prints it.
	Link string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
	// Delivers tells whether messages leave the process (false: they only reach the log).
	Delivers() bool
}

// Config is how mail leaves: URL is smtp://[user:password@]host[:port] (STARTTLS when the
// server offers it, required when credentials are given; port 587 by default) or
// smtps://… (TLS from the first byte; port 465 by default); empty logs messages instead.
type Config struct {
	URL  string
	From string
	// Timeout bounds one delivery (dial to QUIT); 0 means 30 s.
	Timeout time.Duration
	// TLS, when set, replaces the default TLS settings (tests trust their own certificate).
	TLS *tls.Config
}

// New returns the sender of cfg; a URL it cannot use is an error naming it.
func New(cfg Config, log *slog.Logger) (Sender, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail from address %q: %w", cfg.From, err)
	}
	if cfg.URL == "" {
		return &logSender{log: log}, nil
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL: %w", err)
	}
	s := &smtpSender{from: from, timeout: cfg.Timeout, tls: cfg.TLS}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicitTLS = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("SMTP URL: scheme %q, want smtp or smtps", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("SMTP URL: no host")
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

type logSender struct{ log *slog.Logger }

func (l *logSender) Delivers() bool { return false }

func (l *logSender) Send(ctx context.Context, m Message) error {
	l.log.WarnContext(ctx, "no SMTP server is configured (ROCKETFIN_SMTP_URL): this email was not sent; open its link yourself",
		"to", m.To, "subject", m.Subject, "link", m.Link)
	return nil
}

type smtpSender struct {
	addr, host     string
	user, password string
	implicitTLS    bool
	from           *mail.Address
	timeout        time.Duration
	tls            *tls.Config
}

func (s *smtpSender) Delivers() bool { return true }

func (s *smtpSender) tlsConfig() *tls.Config {
	if s.tls != nil {
		return s.tls.Clone()
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// Send delivers m in one SMTP session.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail to %q: %w", m.To, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var conn net.Conn
	if s.implicitTLS {
		d := tls.Dialer{Config: s.tlsConfig()}
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", s.addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting from %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello("rocketfin"); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.implicitTLS {
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("SMTP STARTTLS with %s: %w", s.addr, err)
		}
	}
	if s.user != "" {
		// PlainAuth refuses to send the password over a connection that is neither TLS nor local.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return fmt.Errorf("SMTP authentication as %s: %w", s.user, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("SMTP RCPT TO %s: %w", to.Address, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(s.compose(to, m)); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP end of data: %w", err)
	}
	return c.Quit()
}

// compose writes the message with its headers; the body is quoted-printable UTF-8.
func (s *smtpSender) compose(to *mail.Address, m Message) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", to.String())
	fmt.Fprintf(&b, "Subject: %s\r\n", encodeHeader(m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// encodeHeader makes a header value one line, encoded when it is not plain ASCII (RFC 2047).
func encodeHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	for _, r := range s {
		if r > 0x7e {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}
