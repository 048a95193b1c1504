package httpx

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// scanKeys is the fast pass over a body that encoding/json has already decoded without error
// (so it is valid JSON of the right types): it finds what the decoder let through, a key twice in
// one object and a key that matched a field only when case is ignored, with the path of each. It
// allocates only to report.
func scanKeys(body []byte, t reflect.Type) error {
	s := keyScanner{b: body, path: make([]seg, 0, 8)}
	s.ws()
	return s.value(t)
}

// seg is one step of the path to the value being scanned: a key, or an index (key nil).
type seg struct {
	key   []byte
	index int
}

// where names the value being scanned, then key under it when key is not nil.
func (s *keyScanner) where(key []byte) string {
	out := ""
	for _, g := range s.path {
		switch {
		case g.key == nil:
			out += "[" + strconv.Itoa(g.index) + "]"
		case out == "":
			out = string(g.key)
		default:
			out += "." + string(g.key)
		}
	}
	if key != nil {
		if out != "" {
			out += "."
		}
		out += string(key)
	}
	if out == "" {
		return "body"
	}
	return out
}

type keyScanner struct {
	b    []byte
	i    int
	path []seg
}

func (s *keyScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads a string starting at its quote and returns its raw contents and whether it holds
// escapes.
func (s *keyScanner) str() ([]byte, bool) {
	s.i++ // opening quote
	start, escaped := s.i, false
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, escaped
		}
		s.i++
	}
	return s.b[start:], escaped
}

func (s *keyScanner) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		return s.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawType {
			elem = t.Elem()
		}
		s.i++
		s.ws()
		for n := 0; s.i < len(s.b) && s.b[s.i] != ']'; n++ {
			if err := s.member(seg{index: n}, elem); err != nil {
				return err
			}
		}
		s.i++
		return nil
	case '"':
		s.str()
		return nil
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

// object checks the keys of an object; t is the struct or map it fills, or nil for any JSON.
func (s *keyScanner) object(t reflect.Type) error {
	var fields structFields
	isStruct := t != nil && t.Kind() == reflect.Struct && t != timeType &&
		!t.Implements(unmarshalerType) && !reflect.PointerTo(t).Implements(unmarshalerType)
	if isStruct {
		fields = fieldsOf(t)
	}
	var buf [24][]byte
	seen := buf[:0]
	s.i++
	s.ws()
	for s.i < len(s.b) && s.b[s.i] != '}' {
		raw, escaped := s.str()
		key := raw
		if escaped {
			var k string
			_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &k)
			key = []byte(k)
		}
		for _, k := range seen {
			if string(k) == string(key) {
				return problem.Field(s.where(key), "appears twice in the same object")
			}
		}
		seen = append(seen, key)
		var vt reflect.Type
		switch {
		case isStruct:
			ft, ok := fields.byName[string(key)]
			if !ok {
				p := s.where(key)
				if hint := fields.byFold[lower(key)]; hint != "" {
					return problem.Field(p, "is not a known field; field names are case-sensitive: did you mean %q?", hint)
				}
				return problem.Field(p, "is not a known field")
			}
			vt = ft
		case t != nil && t.Kind() == reflect.Map:
			vt = t.Elem()
		}
		s.ws()
		s.i++ // colon
		s.ws()
		if err := s.member(seg{key: key}, vt); err != nil {
			return err
		}
	}
	s.i++
	return nil
}

// member scans the value at step g of the path, then the comma after it, if any.
func (s *keyScanner) member(g seg, t reflect.Type) error {
	s.path = append(s.path, g)
	if err := s.value(t); err != nil {
		return err
	}
	s.path = s.path[:len(s.path)-1]
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ',' {
		s.i++
		s.ws()
	}
	return nil
}

func lower(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}
