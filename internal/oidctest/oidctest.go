// Package oidctest runs a real OpenID Provider for tests: the example server of the
// OpenID-certified zitadel/oidc library, installed by scripts/test
// (`go install github.com/zitadel/oidc/v3/example/server@v3.51.17`) and named by
// ROCKETFIN_TEST_OIDC_OP. Each test starts its own, with its own users and redirect URIs. Without
// the binary a test is skipped, or fails where ROCKETFIN_REQUIRE_POSTGRES says the full suite runs.
package oidctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/testenv"
)

// EnvBinary names the provider's binary.
const EnvBinary = "ROCKETFIN_TEST_OIDC_OP"

// Clients the example provider knows; both confidential, with this secret.
const (
	WebClient    = "web"
	OtherClient  = "api"
	ClientSecret = "secret"
)

// User is a person of the provider.
type User struct {
	ID            string
	Username      string
	Password      string
	Email         string
	EmailVerified bool
}

// OP is a running provider.
type OP struct {
	// Issuer is exactly what the provider calls itself: http://localhost:PORT/.
	Issuer string
	// Base is where to send it traffic: loopback only.
	Base string
	logs *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr is a loopback address with a port free now, for a server that must be named before it
// starts (as a redirect URI is).
func FreeAddr(t testing.TB) string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }

// Start runs a provider whose clients accept redirectURIs and whose people are users.
func Start(t testing.TB, redirectURIs []string, users []User) *OP {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		testenv.Missing(t, "%s is not set (scripts/test installs the OpenID Provider and sets it)", EnvBinary)
	}
	file := map[string]any{}
	for _, u := range users {
		file[u.ID] = map[string]any{"ID": u.ID, "Username": u.Username, "Password": u.Password, "FirstName": "Test",
			"LastName": u.ID, "Email": u.Email, "EmailVerified": u.EmailVerified, "PreferredLanguage": "en", "IsAdmin": false}
	}
	raw, _ := json.Marshal(file)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(usersFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	op := &OP{Issuer: fmt.Sprintf("http://localhost:%d/", port), Base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &logBuffer{}}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "REDIRECT_URI="+strings.Join(redirectURIs, ","), "USERS_FILE="+usersFile)
	cmd.Stdout, cmd.Stderr = op.logs, op.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OpenID Provider: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(op.Base + "/.well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return op
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the OpenID Provider did not start: %v\n%s", err, op.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Login signs user in at the provider's form, for a browser (client, with a cookie jar) that
// followed an authorization request to it: res is the form page it landed on. It returns the
// answer the browser ends on after the provider redirects it back.
func (op *OP) Login(ctx context.Context, client *http.Client, res *http.Response, username, password string) (*http.Response, error) {
	id := res.Request.URL.Query().Get("authRequestID")
	if id == "" {
		body, _ := io.ReadAll(res.Body)
		return nil, fmt.Errorf("not the provider's login form: %s %d %.300s", res.Request.URL, res.StatusCode, body)
	}
	res.Body.Close()
	form := url.Values{"id": {id}, "username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, op.Base+"/login/username", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return client.Do(req)
}
