package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// Body limits. MaxBodyBytes is the largest body any route accepts (1 MiB, the contract's bound);
// each route reads at most its own limit, DefaultBodyBytes unless BodyLimit says otherwise.
const (
	MaxBodyBytes     = 1 << 20
	DefaultBodyBytes = 32 << 10
)

// Marshal encodes v as the API writes JSON: without HTML escaping, with a final newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads the request body strictly into dst: unknown fields, wrong
// types, trailing data, an empty body and bodies over 1 MiB are each an
// invalid_request problem naming the field at fault.
func Decode(c *gin.Context, dst any) error {
	body, err := ReadBody(c)
	if err != nil {
		return err
	}
	return DecodeBytes(body, dst)
}

// ReadBody reads the whole body, at most the route's limit (BodyLimit, else DefaultBodyBytes). A
// body that announces more than the limit is refused before a byte is read. When the request runs
// under Bodies, the limit (or the announced length, when smaller) is first reserved from the
// process-wide budget, and held until the request ends; a request that cannot get it within a
// second is refused with 503 unavailable and Retry-After.
func ReadBody(c *gin.Context) ([]byte, error) {
	limit := bodyLimit(c)
	if cl := c.Request.ContentLength; cl > limit {
		return nil, problem.Field("body", "the body is larger than %d bytes, the limit of this route", limit)
	}
	if err := reserve(c, limit); err != nil {
		return nil, err
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	body, err := io.ReadAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, problem.Field("body", "the body is larger than %d bytes, the limit of this route", limit)
		}
		return nil, problem.Field("body", "the body could not be read")
	}
	return body, nil
}

// DecodeBytes decodes body strictly into dst (see Decode).
func DecodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return problem.Field("body", "a JSON object is required")
	}
	if hasEscapedNUL(body) {
		return problem.Field("body", "strings must not contain the NUL character (\\u0000)")
	}
	t := reflect.TypeOf(dst)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		// The slow walk names the field and the type expected where the decoder's error does not.
		if shapeErr := checkShape(body, t); shapeErr != nil {
			return shapeErr
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.Field("body", "unexpected data after the JSON object")
	}
	// A decoded body that is not an object can only be null, which encoding/json takes as nothing.
	if k := deref(t).Kind(); (k == reflect.Struct || k == reflect.Map) && bytes.TrimSpace(body)[0] != '{' {
		return problem.Field("body", "must be a JSON object, not null")
	}
	return scanKeys(body, t)
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return problem.Field(field, "must be %s, not %s", describeType(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return problem.Field("body", "malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.Field("body", "the JSON ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem.Field(name, "is not a known field")
	default:
		return problem.Field("body", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "*int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "string"), strings.Contains(goType, "Time"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	default:
		return fmt.Sprintf("an object (%s)", goType[strings.LastIndex(goType, ".")+1:])
	}
}

// hasEscapedNUL reports whether a JSON text holds the escape \u0000, which
// no text column can store; a backslash that is itself escaped does not count.
func hasEscapedNUL(body []byte) bool {
	for i := bytes.Index(body, []byte(`u0000`)); i >= 0; {
		backslashes := 0
		for j := i - 1; j >= 0 && body[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 1 {
			return true
		}
		next := bytes.Index(body[i+1:], []byte(`u0000`))
		if next < 0 {
			return false
		}
		i += next + 1
	}
	return false
}
