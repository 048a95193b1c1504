package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/openapi"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// docsDir is the repository's docs folder, from this package's directory.
var docsDir = filepath.Join("..", "..", "docs")

var shellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// TestDocsExamplesRun runs every sh block of the guides against a live server, each guide in
// order in one shell: the quickstart from nothing, the others after a signup that gives them
// ROCKETFIN_URL, SANDBOX_KEY, LIVE_KEY and TENANT_ID, as the quickstart leaves a reader. What the
// docs show works.
func TestDocsExamplesRun(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the examples need %s: %v", tool, err)
		}
	}
	guides, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	if os.Getenv("STRIPE_MOCK_URL") != "" {
		// The billing guide subscribes: against stripe-mock, through the recording proxy.
		env = billingEnv(billingtest.NewProxy(t, billingtest.MockURL(t)), "1h")
		delete(env, "ROCKETFIN_PUBLIC_URL")
	}
	s := startServer(t, env)
	// WEBHOOK_URL: the reader's endpoint, on loopback here (the test server allows it).
	hooks := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hooks.Close()
	ran := 0
	for _, path := range guides {
		name := strings.TrimSuffix(filepath.Base(path), ".md")
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blocks := shellBlock.FindAllStringSubmatch(string(doc), -1)
		if len(blocks) == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			for _, b := range blocks {
				if strings.Contains(b[1], "/v1/billing/subscription") {
					billingtest.MockURL(t) // this guide subscribes: it needs stripe-mock
				}
			}
			script := "set -euo pipefail\n"
			if name != "quickstart" {
				script += fmt.Sprintf(`curl -sf -X POST "$ROCKETFIN_URL/v1/signup" -H 'Content-Type: application/json' \
  -d '{"company_name":"Docs %[1]s SARL","email":"%[1]s@docs.example","country":"FR"}' > signup.json
SANDBOX_KEY=$(jq -r '.api_keys[] | select(.environment=="sandbox") | .secret' signup.json)
LIVE_KEY=$(jq -r '.api_keys[] | select(.environment=="live") | .secret' signup.json)
TENANT_ID=$(jq -r '.tenant.id' signup.json)
`, name)
			}
			for i, b := range blocks {
				script += "echo '--- block " + strconv.Itoa(i+1) + "'\n" + b[1] + "\n"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "ROCKETFIN_URL="+s.base, "WEBHOOK_URL="+hooks.URL+"/rocketfin")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the examples of %s failed: %v\n%s\nserver log:\n%.3000s", name, err, out, s.logs.String())
			}
			if name == "quickstart" && (!strings.Contains(string(out), `"object":"score"`) || !strings.Contains(string(out), `"credits_remaining":4`)) {
				t.Fatalf("the quickstart did not score live:\n%s", out)
			}
		})
		ran++
	}
	if ran < 2 {
		t.Fatalf("only %d guides have examples", ran)
	}
}

var operationRef = regexp.MustCompile("`(GET|HEAD|POST|PUT|PATCH|DELETE) (/[^` ]*)`")

// TestDocsReferenceMatchesTheDocument: the reference lists every operation of the OpenAPI
// document and no other, and every error code the API answers with its status.
func TestDocsReferenceMatchesTheDocument(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join(docsDir, "reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				want[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	listed := map[string]bool{}
	for _, m := range operationRef.FindAllStringSubmatch(string(ref), -1) {
		listed[m[1]+" "+m[2]] = true
	}
	var missing, unknown []string
	for op := range want {
		if !listed[op] {
			missing = append(missing, op)
		}
	}
	for op := range listed {
		if !want[op] && !strings.Contains(op, "?") {
			unknown = append(unknown, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	if len(missing) > 0 || len(unknown) > 0 {
		t.Errorf("docs/reference.md lacks %v and names operations the document does not have: %v", missing, unknown)
	}
	for _, code := range problem.Codes() {
		row := "| `" + string(code) + "` | " + strconv.Itoa(code.Status()) + " |"
		if !strings.Contains(string(ref), row) {
			t.Errorf("docs/reference.md has no row %q", row)
		}
	}
}
