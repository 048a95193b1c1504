package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
)

// document is the part of the OpenAPI document the reference shows.
type document struct {
	Info struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]schema          `json:"schemas"`
		Parameters map[string]parameter       `json:"parameters"`
		Responses  map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

type schema struct {
	Ref         string            `json:"$ref"`
	Type        any               `json:"type"`
	Format      string            `json:"format"`
	Description string            `json:"description"`
	Enum        []any             `json:"enum"`
	Const       any               `json:"const"`
	Pattern     string            `json:"pattern"`
	Properties  map[string]schema `json:"properties"`
	Required    []string          `json:"required"`
	Items       *schema           `json:"items"`
	Maximum     *float64          `json:"maximum"`
	MaxLength   *int              `json:"maxLength"`
}

type parameter struct {
	Ref         string `json:"$ref"`
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
	Schema      schema `json:"schema"`
}

type operation struct {
	Tags        []string        `json:"tags"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	OperationID string          `json:"operationId"`
	Scope       string          `json:"x-required-scope"`
	Security    json.RawMessage `json:"security"`
	Parameters  []parameter     `json:"parameters"`
	RequestBody *struct {
		Required bool                               `json:"required"`
		Content  map[string]struct{ Schema schema } `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref         string                             `json:"$ref"`
		Description string                             `json:"description"`
		Content     map[string]struct{ Schema schema } `json:"content"`
	} `json:"responses"`
}

// field is one row of a schema's table: a dotted path, its type and what it means.
type field struct {
	Name, Type, Description string
	Required                bool
}

// refName is the component a $ref names.
func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func typeOf(s schema) string {
	switch t := s.Type.(type) {
	case string:
		out := t
		if s.Format != "" {
			out += " (" + s.Format + ")"
		}
		return out
	case []any:
		var parts []string
		for _, x := range t {
			if x == nil {
				parts = append(parts, "null")
			} else {
				parts = append(parts, fmt.Sprint(x))
			}
		}
		return strings.Join(parts, " or ")
	}
	if s.Const != nil {
		return fmt.Sprintf("%q", s.Const)
	}
	return ""
}

// fields flattens a schema into rows, following $refs up to depth, arrays as name[].
func (d *document) fields(prefix string, s schema, depth int, out *[]field) {
	if s.Ref != "" {
		name := refName(s.Ref)
		if depth <= 0 {
			*out = append(*out, field{Name: prefix, Type: name, Description: "see " + name})
			return
		}
		s = d.Components.Schemas[name]
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.Properties[n]
		name := n
		if prefix != "" {
			name = prefix + "." + n
		}
		required := false
		for _, r := range s.Required {
			required = required || r == n
		}
		row := field{Name: name, Type: typeOf(p), Description: describe(p), Required: required}
		target := p
		if p.Items != nil {
			row.Name += "[]"
			row.Type = "array of " + strings.TrimSpace(typeOf(*p.Items)+" "+refLabel(*p.Items))
			target = *p.Items
		}
		if p.Ref != "" {
			row.Type = refName(p.Ref)
		}
		*out = append(*out, row)
		if (target.Ref != "" || len(target.Properties) > 0) && depth > 0 {
			d.fields(row.Name, target, depth-1, out)
		}
	}
}

func refLabel(s schema) string {
	if s.Ref != "" {
		return refName(s.Ref)
	}
	return ""
}

func describe(s schema) string {
	var parts []string
	if s.Description != "" {
		parts = append(parts, s.Description)
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			if e != nil {
				vals = append(vals, fmt.Sprint(e))
			}
		}
		parts = append(parts, "one of: "+strings.Join(vals, ", "))
	}
	if s.Pattern != "" {
		parts = append(parts, "pattern "+s.Pattern)
	}
	if s.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("at most %d characters", *s.MaxLength))
	}
	return strings.Join(parts, "; ")
}

// opView is an operation as the reference shows it.
type opView struct {
	Method, Path, ID, Summary string
	Description               template.HTML
	Scope, Auth               string
	Params                    []parameter
	BodyType                  string
	Body                      []field
	Responses                 []respView
}

type respView struct{ Status, Description, Schema string }

type tagView struct {
	Name, Description string
	Ops               []opView
}

type schemaView struct {
	Name   string
	Fields []field
}

var methods = []string{"get", "head", "post", "put", "patch", "delete"}

// inlineMarkdown renders a description written in Markdown.
func inlineMarkdown(s string) template.HTML {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(s), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML(b.String()) // #nosec: the document is ours
}

func renderReference(raw []byte) (template.HTML, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", fmt.Errorf("read the OpenAPI document: %w", err)
	}
	byTag := map[string]*tagView{}
	var tags []*tagView
	for _, t := range d.Tags {
		tv := &tagView{Name: t.Name, Description: t.Description}
		byTag[t.Name] = tv
		tags = append(tags, tv)
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var shared []parameter
		if raw, ok := d.Paths[p]["parameters"]; ok {
			_ = json.Unmarshal(raw, &shared)
		}
		for _, m := range methods {
			raw, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return "", fmt.Errorf("read %s %s: %w", m, p, err)
			}
			v := opView{Method: strings.ToUpper(m), Path: p, ID: op.OperationID, Summary: op.Summary,
				Description: inlineMarkdown(op.Description), Scope: op.Scope, Auth: authOf(op)}
			for _, prm := range append(append([]parameter{}, shared...), op.Parameters...) {
				if prm.Ref != "" {
					prm = d.Components.Parameters[refName(prm.Ref)]
				}
				if prm.Name == "RocketFin-Version" {
					continue // on every operation; said once in the conventions
				}
				v.Params = append(v.Params, prm)
			}
			if op.RequestBody != nil {
				for ct, c := range op.RequestBody.Content {
					v.BodyType = ct
					d.fields("", c.Schema, 3, &v.Body)
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for code := range op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				r := op.Responses[code]
				rv := respView{Status: code, Description: r.Description}
				if r.Ref != "" {
					var shared struct {
						Description string `json:"description"`
					}
					_ = json.Unmarshal(d.Components.Responses[refName(r.Ref)], &shared)
					rv.Description, rv.Schema = shared.Description, "Problem"
				}
				for _, c := range r.Content {
					if c.Schema.Ref != "" {
						rv.Schema = refName(c.Schema.Ref)
					}
				}
				v.Responses = append(v.Responses, rv)
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			tv := byTag[tag]
			if tv == nil {
				tv = &tagView{Name: tag}
				byTag[tag] = tv
				tags = append(tags, tv)
			}
			tv.Ops = append(tv.Ops, v)
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	var schemas []schemaView
	for _, n := range names {
		var fs []field
		d.fields("", d.Components.Schemas[n], 1, &fs)
		schemas = append(schemas, schemaView{Name: n, Fields: fs})
	}
	var b bytes.Buffer
	err := referenceTemplate.Execute(&b, struct {
		Title       string
		Description template.HTML
		Tags        []*tagView
		Schemas     []schemaView
	}{d.Info.Title, inlineMarkdown(d.Info.Description), tags, schemas})
	return template.HTML(b.String()), err // #nosec: escaped by the template
}

func authOf(op operation) string {
	s := string(op.Security)
	switch {
	case s == "[]":
		return "none"
	case strings.Contains(s, "operatorToken"):
		return "operator token"
	case strings.Contains(s, "oauth2"), s == "":
		return "API key, OAuth2 token or console session"
	case strings.Contains(s, "consoleSession"):
		return "console session"
	}
	return s
}

var referenceTemplate = template.Must(template.New("ref").Parse(`
<h1>{{.Title}}: every operation</h1>
{{.Description}}
<p>Generated from the OpenAPI document this server serves (<a href="/openapi.json">/openapi.json</a>). Every
operation accepts <code>RocketFin-Version</code> and answers with it. <a href="#schemas">Schemas</a> come last.</p>
<nav aria-label="Sections"><ul>{{range .Tags}}{{if .Ops}}<li><a href="#tag-{{.Name}}">{{.Name}}</a></li>{{end}}{{end}}<li><a href="#schemas">schemas</a></li></ul></nav>
{{range .Tags}}{{if .Ops}}
<section aria-labelledby="tag-{{.Name}}">
<h2 id="tag-{{.Name}}">{{.Name}}</h2>
<p>{{.Description}}</p>
{{range .Ops}}
<article class="card op" aria-labelledby="op-{{.ID}}">
<h3 id="op-{{.ID}}"><code>{{.Method}} {{.Path}}</code> · {{.Summary}}</h3>
{{.Description}}
<p class="muted">Operation <code>{{.ID}}</code> · authentication: {{.Auth}}{{if .Scope}} · scope <code>{{.Scope}}</code>{{end}}</p>
{{if .Params}}<h4>Parameters</h4>
<div class="table-wrap" tabindex="0" role="region" aria-label="Parameters of {{.ID}}"><table><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Meaning</th></tr></thead><tbody>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td>{{.Schema.Type}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table></div>{{end}}
{{if .BodyType}}<h4>Body ({{.BodyType}})</h4>
{{if .Body}}<div class="table-wrap" tabindex="0" role="region" aria-label="Body of {{.ID}}"><table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Meaning</th></tr></thead><tbody>
{{range .Body}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table></div>{{end}}{{end}}
<h4>Responses</h4>
<ul>{{range .Responses}}<li><strong>{{.Status}}</strong> {{.Description}}{{if .Schema}} · <a href="#schema-{{.Schema}}">{{.Schema}}</a>{{end}}</li>{{end}}</ul>
</article>
{{end}}
</section>
{{end}}{{end}}
<section aria-labelledby="schemas">
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}
<article class="card" aria-labelledby="schema-{{.Name}}">
<h3 id="schema-{{.Name}}">{{.Name}}</h3>
{{if .Fields}}<div class="table-wrap" tabindex="0" role="region" aria-label="Fields of {{.Name}}"><table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Meaning</th></tr></thead><tbody>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table></div>{{else}}<p class="muted">No fields of its own.</p>{{end}}
</article>
{{end}}
</section>
`))
