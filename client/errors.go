package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is a refusal of the API: its problem+json, with the stable Code to act on.
type Error struct {
	Status    int          `json:"status"`
	Code      string       `json:"code"`
	Title     string       `json:"title"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"request_id"`
	Fields    []FieldError `json:"errors"`
	// RetryAfter is the Retry-After of a 429 or 503, in seconds.
	RetryAfter string `json:"-"`
}

// FieldError is one field at fault.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("rocketfin: %d %s: %s (request %s)", e.Status, e.Code, e.Detail, e.RequestID)
}

// Check is nil for a 2xx answer and the *Error of any other.
func Check(res *http.Response, body []byte) error {
	if res == nil {
		return fmt.Errorf("rocketfin: no answer")
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: res.StatusCode, RetryAfter: res.Header.Get("Retry-After")}
	if err := json.Unmarshal(body, e); err != nil || e.Code == "" {
		e.Code, e.Detail = "unexpected_answer", fmt.Sprintf("status %d without a problem body", res.StatusCode)
	}
	e.Status = res.StatusCode
	return e
}

// WithBearer authenticates every request with an API key (or an access token).
func WithBearer(secret string) ClientOption {
	return WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+secret)
		return nil
	})
}
