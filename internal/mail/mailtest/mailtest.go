// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: it offers STARTTLS with a certificate of its own, takes
// PLAIN authentication with the credentials it was given, and hands over every
// message it receives, decoded.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rocketfin/rocketfin/internal/testcert"
)

// Received is one delivered message.
type Received struct {
	From    string
	To      []string
	Header  mail.Header
	Subject string
	Text    string // the decoded body
}

// Server is a running SMTP server.
type Server struct {
	user, password string
	srv            *smtp.Server
	ln             net.Listener
	messages       chan Received
	// ClientTLS trusts the server's certificate, for the sender under test.
	ClientTLS *tls.Config
}

// Start runs a server until the test ends; with a user, it offers STARTTLS and
// requires PLAIN authentication with that user and password over TLS; without
// one, it takes plain unauthenticated mail (as a local relay does).
func Start(t testing.TB, user, password string) *Server {
	t.Helper()
	cert := testcert.New(t)
	s := &Server{user: user, password: password, messages: make(chan Received, 100)}
	s.ClientTLS = &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	if user != "" {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	}
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	var err error
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatalf("listen for SMTP: %v", err)
	}
	go func() { _ = s.srv.Serve(s.ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// URL is the smtp:// URL of the server, with its credentials.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.ln.Addr().String()}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.password)
	}
	return u.String()
}

// Next waits up to timeout for the next message.
func (s *Server) Next(timeout time.Duration) (Received, bool) {
	select {
	case m := <-s.messages:
		return m, true
	case <-time.After(timeout):
		return Received{}, false
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	msg    Received
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if _, isTLS := se.conn.TLSConnectionState(); !isTLS {
			return errors.New("authentication needs TLS")
		}
		if user != se.s.user || password != se.s.password {
			return errors.New("invalid credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	se.msg.From = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.msg.To = append(se.msg.To, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		if body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err != nil {
			return err
		}
	}
	var dec mime.WordDecoder
	se.msg.Header = m.Header
	se.msg.Subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	se.msg.Text = strings.ReplaceAll(string(body), "\r\n", "\n")
	se.s.messages <- se.msg
	se.msg = Received{}
	return nil
}

func (se *session) Reset()        { se.msg = Received{} }
func (se *session) Logout() error { return nil }
