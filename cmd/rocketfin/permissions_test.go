package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/openapi"
)

// TestThePermissionTableIsTheDocument: every operation a credential may call names, in the
// OpenAPI document, the scope that access.Routes gives it, both as x-required-scope and as its
// oauth2 security requirement; and every route of the table is such an operation.
func TestThePermissionTableIsTheDocument(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	seen := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security []map[string][]string `json:"security"`
				Scope    string                `json:"x-required-scope"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			oauth2 := -1
			for i, req := range op.Security {
				if _, ok := req["oauth2"]; ok {
					oauth2 = i
				}
			}
			route := strings.ToUpper(method) + " " + param.ReplaceAllString(path, ":$1")
			if strings.HasPrefix(path, "/console") && op.Scope != "" {
				// A console page: the session's, with the scope of the table.
				seen[route] = true
				if want := access.Routes[route]; op.Scope != string(want) {
					t.Errorf("%s: x-required-scope %q, the table says %q", route, op.Scope, want)
				}
				continue
			}
			if op.Security != nil && oauth2 < 0 {
				continue // public, the operator's, or the session's own
			}
			seen[route] = true
			want, ok := access.Routes[route]
			if !ok {
				t.Errorf("%s is open to credentials in the document but missing from access.Routes", route)
				continue
			}
			if op.Scope != string(want) {
				t.Errorf("%s: x-required-scope %q, the table says %q", route, op.Scope, want)
			}
			if oauth2 < 0 || len(op.Security[oauth2]["oauth2"]) != 1 || op.Security[oauth2]["oauth2"][0] != string(want) || len(op.Security) != 3 {
				t.Errorf("%s: security %v, want an API key, oauth2 [%s] or a console session", route, op.Security, want)
			}
		}
	}
	for route, sc := range access.Routes {
		if !seen[route] {
			t.Errorf("access.Routes gives %s the scope %s, but the document has no such operation for credentials", route, sc)
		}
		if !access.Known(sc) {
			t.Errorf("%s needs an unknown scope %s", route, sc)
		}
	}
}
