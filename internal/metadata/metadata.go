// Package metadata holds the string pairs a client attaches to scores, consents and keys (its CRM
// ids, its own labels): at most 50 keys of at most 40 characters, values of at most 500, stored as
// JSON text beside the object, returned as sent and usable as list filters.
package metadata

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
)

// Limits of metadata.
const (
	MaxKeys        = 50
	MaxKeyLength   = 40
	MaxValueLength = 500
)

// Metadata are a client's string pairs.
type Metadata map[string]string

// Validate checks the pairs; field names the input field ("metadata").
func (m Metadata) Validate(field string) error {
	if len(m) > MaxKeys {
		return problem.Field(field, "holds %d keys; at most %d", len(m), MaxKeys)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch {
		case k == "" || len(k) > MaxKeyLength || strings.ContainsAny(k, `[]"\`):
			return problem.Field(field, "key %.50q must be 1 to %d characters, without brackets, quotes or backslashes", k, MaxKeyLength)
		case len(v) > MaxValueLength:
			return problem.Field(field+"."+k, "must be at most %d characters", MaxValueLength)
		}
		if msg := valid.TextProblem(k + v); msg != "" {
			return problem.Field(field+"."+k, "%s", msg)
		}
	}
	return nil
}

// Encode is the stored form: JSON, {} when empty.
func (m Metadata) Encode() string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return string(b)
}

// Decode reads the stored form; an empty or unreadable one is no metadata.
func Decode(s string) Metadata {
	m := Metadata{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

// Filter is the ?metadata[key]=value pairs of a list request: every pair must match.
type Filter map[string]string

// ParseFilter reads metadata[key]=value query parameters.
func ParseFilter(c *gin.Context) (Filter, error) {
	f := Filter{}
	for name, values := range c.Request.URL.Query() {
		k, ok := strings.CutPrefix(name, "metadata[")
		if !ok {
			continue
		}
		k, ok = strings.CutSuffix(k, "]")
		if !ok || k == "" || len(k) > MaxKeyLength || len(values) != 1 {
			return nil, problem.Field(name, "write the filter as metadata[key]=value, a key once")
		}
		if !utf8.ValidString(k+values[0]) || strings.ContainsRune(k+values[0], 0) || len(values[0]) > MaxValueLength {
			return nil, problem.Field(name, "must be UTF-8 text without NUL, at most %d characters", MaxValueLength)
		}
		f[k] = values[0]
	}
	if len(f) > 10 {
		return nil, problem.Field("metadata", "at most 10 metadata filters")
	}
	return f, nil
}

// Apply narrows q to rows whose column holds every pair of the filter.
func (f Filter) Apply(q *gorm.DB, column string) *gorm.DB {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q = q.Where(fmt.Sprintf("%s = ?", database.JSONText(q, column)), k, f[k])
	}
	return q
}
