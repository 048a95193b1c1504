package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	validatorerrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/rocketfin/rocketfin/internal/openapi"
)

// The served OpenAPI document is the contract: every answer the end-to-end suite receives is
// checked against it by pb33f's libopenapi-validator in strict mode, so that an undocumented
// status, header or field fails the test that met it.

var (
	contractOnce sync.Once
	contract     validator.Validator
	contractErr  error
)

func contractValidator() (validator.Validator, error) {
	contractOnce.Do(func() {
		doc, err := libopenapi.NewDocument(openapi.Document)
		if err != nil {
			contractErr = err
			return
		}
		// Metadata are the client's own pairs, and an audit event's before and after are snapshots
		// of other objects: free-form maps, as the document says, whose keys strict mode would
		// otherwise take for undeclared properties.
		v, errs := validator.NewValidator(doc, config.WithStrictMode(),
			config.WithStrictIgnorePaths("$.body.metadata.*", "$.body.data[*].metadata.*",
				"$.body.data[*].before.*", "$.body.data[*].after.*"))
		if len(errs) > 0 {
			contractErr = errs[0]
			return
		}
		contract = v
	})
	return contract, contractErr
}

// checkContract validates one answer against the document.
func checkContract(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	v, err := contractValidator()
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	copy := *res
	copy.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := v.ValidateHttpResponse(req, &copy); !ok {
		var b strings.Builder
		for _, e := range errs {
			if unknownRoute(e, res) {
				continue
			}
			b.WriteString("\n  - " + e.Message)
			if e.Reason != "" {
				b.WriteString(": " + e.Reason)
			}
			for _, se := range e.SchemaValidationErrors {
				b.WriteString("\n      " + se.FieldPath + ": " + se.Reason)
			}
		}
		if b.Len() == 0 {
			return
		}
		t.Errorf("%s %s → %d does not match the OpenAPI document:%s\n%s", req.Method, req.URL.Path, res.StatusCode, b.String(), body)
	}
}

// unknownRoute is the one answer no path of the document can describe: a 404 or 405 problem for
// a path or method the API does not have.
func unknownRoute(e *validatorerrors.ValidationError, res *http.Response) bool {
	return e.ValidationType == "path" && (res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json")
}
