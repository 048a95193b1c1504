// Package docs is the documentation site served at /docs: the guides of this folder, written in
// Markdown for integrators and rendered at start, and an API reference generated from the OpenAPI
// document the server serves, so that it can never disagree with it. Everything is embedded; the
// pages need no script.
package docs

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/rocketfin/rocketfin/internal/httpx"
)

//go:embed *.md
var guideFiles embed.FS

// guide is one rendered page.
type guide struct {
	Slug, Title string
	Body        template.HTML
}

// Site serves the documentation.
type Site struct {
	guides []guide // README first, then the guides by their order below
	bySlug map[string]guide
	page   *template.Template
}

// order is the guides' order in the menu; a guide not named here comes after, by name.
var order = []string{"README", "quickstart", "authentication", "sandbox", "scoring-request", "errors-and-limits", "consents", "monitoring", "usage-and-billing", "reference"}

var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(), parser.WithASTTransformers(util.Prioritized(linkRewriter{}, 100))),
)

// linkRewriter points links between guides at their pages (quickstart.md → /docs/quickstart) and
// turns links into the repository (../client/) into plain text: the site has no such pages.
type linkRewriter struct{}

var guideLink = regexp.MustCompile(`^([a-z0-9-]+)\.md(#.*)?$`)

func (linkRewriter) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var outside []*ast.Link
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		l, ok := n.(*ast.Link)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		dest := string(l.Destination)
		switch m := guideLink.FindStringSubmatch(dest); {
		case m != nil:
			slug := m[1]
			if slug == "README" {
				slug = ""
			}
			l.Destination = []byte(strings.TrimSuffix("/docs/"+slug, "/") + m[2])
		case strings.HasPrefix(dest, "../"), strings.HasPrefix(dest, "screenshots/"):
			outside = append(outside, l)
		}
		return ast.WalkContinue, nil
	})
	for _, l := range outside {
		parent := l.Parent()
		for c := l.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, l, c)
			c = next
		}
		parent.RemoveChild(parent, l)
	}
}

var titleLine = regexp.MustCompile(`(?m)^# (.+)$`)

// New renders the guides and the reference of the OpenAPI document openapiDoc.
func New(openapiDoc []byte) (*Site, error) {
	s := &Site{bySlug: map[string]guide{}}
	names, err := fs.Glob(guideFiles, "*.md")
	if err != nil {
		return nil, err
	}
	rank := func(slug string) int {
		for i, o := range order {
			if o == slug {
				return i
			}
		}
		return len(order)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := strings.TrimSuffix(names[i], ".md"), strings.TrimSuffix(names[j], ".md")
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a < b
	})
	for _, n := range names {
		src, err := guideFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		slug := strings.TrimSuffix(n, ".md")
		title := slug
		if m := titleLine.FindSubmatch(src); m != nil {
			title = string(m[1])
		}
		var b bytes.Buffer
		if err := markdown.Convert(src, &b); err != nil {
			return nil, fmt.Errorf("render %s: %w", n, err)
		}
		g := guide{Slug: slug, Title: title, Body: template.HTML(b.String())} // #nosec: our own Markdown
		s.guides = append(s.guides, g)
		s.bySlug[slug] = g
	}
	ref, err := renderReference(openapiDoc)
	if err != nil {
		return nil, err
	}
	s.bySlug["api"] = guide{Slug: "api", Title: "API reference: every operation and schema", Body: ref}
	s.page, err = template.New("page").Parse(pageTemplate)
	return s, err
}

const pageTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Page.Title}} · RocketFin docs</title>
<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/static/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/docs">RocketFin docs</a><span><a href="/docs/api">API reference</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/console">Console</a></span></header>
<div class="layout">
<nav class="side" aria-label="Guides"><ul>
{{range .Guides}}<li><a href="/docs{{if ne .Slug "README"}}/{{.Slug}}{{end}}" {{if eq .Slug $.Page.Slug}}aria-current="page"{{end}}>{{.Title}}</a></li>
{{end}}<li><a href="/docs/api" {{if eq "api" .Page.Slug}}aria-current="page"{{end}}>Every operation and schema</a></li>
</ul></nav>
<main id="main" class="docs">
{{.Page.Body}}
</main>
</div>
</body>
</html>`

// Routes mounts /docs and its pages.
func (s *Site) Routes(r httpx.Routes) {
	r.Root.GET("/docs", func(c *gin.Context) { s.serve(c, "README") })
	r.Root.GET("/docs/:page", func(c *gin.Context) { s.serve(c, c.Param("page")) })
}

func (s *Site) serve(c *gin.Context, slug string) {
	g, ok := s.bySlug[path.Clean(slug)]
	if !ok {
		httpx.NotFoundHandler(c)
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	c.Header("Referrer-Policy", "same-origin")
	c.Header("Cache-Control", "public, max-age=300")
	c.Status(http.StatusOK)
	if err := s.page.Execute(c.Writer, struct {
		Guides []guide
		Page   guide
	}{s.guides, g}); err != nil {
		httpx.Logger(c).Warn("render docs page", "page", slug, "error", err.Error())
	}
}
