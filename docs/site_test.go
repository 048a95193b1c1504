package docs

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/openapi"
)

func served(t *testing.T) *gin.Engine {
	t.Helper()
	s, err := New(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s.Routes(httpx.Routes{Root: r})
	return r
}

func get(t *testing.T, r http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}

// TestTheReferenceShowsEveryOperation: the generated reference names every operation of the
// document, with its scope where it has one, and every schema.
func TestTheReferenceShowsEveryOperation(t *testing.T) {
	r := served(t)
	code, page := get(t, r, "/docs/api")
	if code != http.StatusOK {
		t.Fatalf("/docs/api: %d", code)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				ID    string `json:"operationId"`
				Scope string `json:"x-required-scope"`
			}
			_ = json.Unmarshal(raw, &op)
			n++
			if !strings.Contains(page, `id="op-`+op.ID+`"`) || !strings.Contains(page, strings.ToUpper(method)+" "+path) {
				t.Errorf("the reference lacks %s %s (%s)", method, path, op.ID)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("the reference lacks the schema %s", name)
		}
	}
	if !strings.Contains(page, "scope <code>scores:write</code>") || !strings.Contains(page, "<code>financials[].revenue</code>") {
		t.Error("the reference shows neither scopes nor nested body fields")
	}
	t.Logf("%d operations", n)
}

// TestGuidesRenderAndLinkToEachOther: every guide is a page, the index lists them, links between
// guides lead to their pages, and links into the repository are not links on the site.
func TestGuidesRenderAndLinkToEachOther(t *testing.T) {
	r := served(t)
	code, index := get(t, r, "/docs")
	if code != http.StatusOK {
		t.Fatalf("/docs: %d", code)
	}
	for _, slug := range order[1:] {
		if !strings.Contains(index, `href="/docs/`+slug+`"`) {
			t.Errorf("the menu lacks %s", slug)
		}
		if code, _ := get(t, r, "/docs/"+slug); code != http.StatusOK {
			t.Errorf("/docs/%s: %d", slug, code)
		}
	}
	if strings.Contains(index, `.md"`) || strings.Contains(index, `href="../`) {
		t.Errorf("the index links to files, not pages:\n%s", index)
	}
	if code, _ := get(t, r, "/docs/nope"); code != http.StatusNotFound {
		t.Errorf("an unknown page: %d", code)
	}
}
