package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// checkShape walks a JSON body along the Go type it will be decoded into and refuses what
// encoding/json would let through or describe badly: a body that is not an object, a key that
// appears twice in one object, a key that matches a field only when case is ignored, and a value
// of the wrong type, each named by its full path (financials[0].cash) and the type expected. A
// syntax error is left to the decoder, which reports its position.
func checkShape(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	t = deref(t)
	if d, ok := tok.(json.Delim); (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) && (!ok || d != '{') {
		return problem.Field("body", "must be a JSON object, not %s", jsonKind(tok))
	}
	w := walker{dec: dec}
	err = w.value(t, "", tok)
	if w.syntax {
		return nil
	}
	return err
}

type walker struct {
	dec *json.Decoder
	// syntax is set when the body is not valid JSON: the decoder then says where.
	syntax bool
}

var (
	timeType        = reflect.TypeOf(time.Time{})
	rawType         = reflect.TypeOf(json.RawMessage{})
	unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	anyType         = reflect.TypeOf((*any)(nil)).Elem()
)

func (w *walker) token() (json.Token, bool) {
	tok, err := w.dec.Token()
	if err != nil {
		w.syntax = true
		return nil, false
	}
	return tok, true
}

// value checks one value whose first token is tok.
func (w *walker) value(t reflect.Type, path string, tok json.Token) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tok == nil {
		return nil // null leaves a field as it was, as encoding/json does
	}
	field := path
	if field == "" {
		field = "body"
	}
	switch {
	case t == rawType:
		return w.skip(path, tok)
	case t == timeType:
		if s, ok := tok.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err == nil {
				return nil
			}
		}
		return problem.Field(field, "must be an RFC 3339 time such as 2027-01-31T23:59:59Z, not %s", jsonKind(tok))
	case t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType):
		return w.skip(path, tok)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.object(path, tok, describe(t), func(key string) (reflect.Type, string, bool) {
			f := fieldsOf(t)
			if ft, ok := f.byName[key]; ok {
				return ft, "", true
			}
			return nil, f.byFold[strings.ToLower(key)], false
		})
	case reflect.Map:
		return w.object(path, tok, describe(t), func(string) (reflect.Type, string, bool) { return t.Elem(), "", true })
	case reflect.Slice, reflect.Array:
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return problem.Field(field, "must be %s, not %s", describe(t), jsonKind(tok))
		}
		for i := 0; w.dec.More(); i++ {
			tok, ok := w.token()
			if !ok {
				return nil
			}
			if err := w.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i), tok); err != nil {
				return err
			}
		}
		_, _ = w.token()
		return nil
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return problem.Field(field, "must be a string, not %s", jsonKind(tok))
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return problem.Field(field, "must be a boolean, not %s", jsonKind(tok))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return problem.Field(field, "must be an integer, not %s", jsonKind(tok))
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return problem.Field(field, "must be an integer of at most %d bits, not %s", t.Bits(), n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := tok.(json.Number)
		if !ok {
			return problem.Field(field, "must be an integer, not %s", jsonKind(tok))
		}
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
			return problem.Field(field, "must be a non-negative integer of at most %d bits, not %s", t.Bits(), n)
		}
	case reflect.Float32, reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return problem.Field(field, "must be a number, not %s", jsonKind(tok))
		}
		if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			return problem.Field(field, "must be a number within range, not %s", n)
		}
	default: // interfaces and anything else: any JSON value
		return w.skip(path, tok)
	}
	return nil
}

// object checks an object: member returns the type of a key's value, or the field name the key
// matches when case is ignored.
func (w *walker) object(path string, tok json.Token, want string, member func(string) (reflect.Type, string, bool)) error {
	field := path
	if field == "" {
		field = "body"
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return problem.Field(field, "must be %s, not %s", want, jsonKind(tok))
	}
	seen := map[string]bool{}
	for w.dec.More() {
		kt, ok := w.token()
		if !ok {
			return nil
		}
		key, _ := kt.(string)
		p := key
		if path != "" {
			p = path + "." + key
		}
		if seen[key] {
			return problem.Field(p, "appears twice in the same object")
		}
		seen[key] = true
		t, hint, ok := member(key)
		if !ok {
			if hint != "" {
				return problem.Field(p, "is not a known field; field names are case-sensitive: did you mean %q?", hint)
			}
			return problem.Field(p, "is not a known field")
		}
		vt, ok := w.token()
		if !ok {
			return nil
		}
		if err := w.value(t, p, vt); err != nil {
			return err
		}
	}
	_, _ = w.token()
	return nil
}

// skip consumes the rest of a value whose first token was read, of a type that takes any JSON
// (an interface, json.RawMessage, a type with its own UnmarshalJSON); a key twice in one of its
// objects is still refused.
func (w *walker) skip(path string, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return nil
	}
	if d == '{' {
		return w.object(path, tok, "an object", func(string) (reflect.Type, string, bool) { return anyType, "", true })
	}
	for i := 0; w.dec.More(); i++ {
		tok, ok := w.token()
		if !ok {
			return nil
		}
		if err := w.skip(fmt.Sprintf("%s[%d]", path, i), tok); err != nil {
			return err
		}
	}
	_, _ = w.token()
	return nil
}

// deref is the type a pointer type points to, through every level.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonKind names what a JSON value is, for messages.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	}
	return "a value"
}

// describe names what a Go type expects, for messages.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a " + t.Kind().String()
}

type structFields struct {
	byName map[string]reflect.Type
	byFold map[string]string
}

var fieldCache sync.Map // reflect.Type → structFields

// fieldsOf lists the JSON names of a struct's fields as encoding/json sees them: tags, untagged
// exported names, and the fields of embedded structs.
func fieldsOf(t reflect.Type) structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(structFields)
	}
	f := structFields{byName: map[string]reflect.Type{}, byFold: map[string]string{}}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					add(et)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f.byName[name] = sf.Type
			f.byFold[strings.ToLower(name)] = name
		}
	}
	add(t)
	fieldCache.Store(t, f)
	return f
}
