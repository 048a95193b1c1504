// Package problem defines the error kinds every RocketFin domain returns and
// their one-to-one mapping onto the stable error codes and HTTP statuses of
// the public contract (API.md). Domains build errors with this package; only
// the HTTP layer turns them into application/problem+json.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Code is a stable, documented error code of the public API.
type Code string

// The stable codes of API.md. A code never changes meaning.
const (
	Invalid             Code = "invalid_request"
	Unauthenticated     Code = "unauthenticated"
	Forbidden           Code = "forbidden"
	ConsentRequired     Code = "consent_required"
	EmailUnverified     Code = "email_unverified"
	NotFound            Code = "not_found"
	Conflict            Code = "conflict"
	IdempotencyConflict Code = "idempotency_conflict"
	TrialExpired        Code = "trial_expired"
	CreditsExhausted    Code = "credits_exhausted"
	AccountSuspended    Code = "account_suspended"
	RateLimited         Code = "rate_limited"
	ScoringUnavailable  Code = "scoring_unavailable"
	UnsupportedMedia    Code = "unsupported_media_type"
	InsufficientData    Code = "insufficient_data"
	Unavailable         Code = "unavailable"
	MethodNotAllowed    Code = "method_not_allowed"
	Internal            Code = "internal_error"
)

var statuses = map[Code]int{
	Invalid:             http.StatusBadRequest,
	Unauthenticated:     http.StatusUnauthorized,
	Forbidden:           http.StatusForbidden,
	ConsentRequired:     http.StatusForbidden,
	EmailUnverified:     http.StatusForbidden,
	NotFound:            http.StatusNotFound,
	Conflict:            http.StatusConflict,
	IdempotencyConflict: http.StatusConflict,
	TrialExpired:        http.StatusPaymentRequired,
	CreditsExhausted:    http.StatusPaymentRequired,
	AccountSuspended:    http.StatusPaymentRequired,
	RateLimited:         http.StatusTooManyRequests,
	ScoringUnavailable:  http.StatusServiceUnavailable,
	UnsupportedMedia:    http.StatusUnsupportedMediaType,
	InsufficientData:    http.StatusUnprocessableEntity,
	Unavailable:         http.StatusServiceUnavailable,
	MethodNotAllowed:    http.StatusMethodNotAllowed,
	Internal:            http.StatusInternalServerError,
}

var titles = map[Code]string{
	Invalid:             "The request is invalid",
	Unauthenticated:     "Authentication is required",
	Forbidden:           "This credential may not do that",
	ConsentRequired:     "An active consent is required",
	EmailUnverified:     "The account's email is not verified yet",
	NotFound:            "No such object",
	Conflict:            "The request conflicts with the current state",
	IdempotencyConflict: "The Idempotency-Key was used with another request",
	TrialExpired:        "The trial has ended",
	CreditsExhausted:    "No analysis credits remain",
	AccountSuspended:    "The account is suspended",
	RateLimited:         "Too many requests",
	ScoringUnavailable:  "The scoring engine is unavailable",
	UnsupportedMedia:    "The body must be JSON",
	InsufficientData:    "There is nothing to score",
	Unavailable:         "The service is busy or restarting: retry shortly",
	MethodNotAllowed:    "Method not allowed",
	Internal:            "Internal error",
}

// Codes lists every code of the contract, in order.
func Codes() []Code {
	out := make([]Code, 0, len(statuses))
	for c := range statuses {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Status is the HTTP status of a code; unknown codes are 500.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Title is the short human summary of a code.
func (c Code) Title() string {
	if t, ok := titles[c]; ok {
		return t
	}
	return titles[Internal]
}

// FieldError names one invalid field of a request, by its JSON path.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error that the API shows to its caller.
type Error struct {
	Code   Code
	Detail string
	Fields []FieldError
	// RetryAfter, in whole seconds, is sent as Retry-After when positive.
	RetryAfter int
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%s: %s)", e.Code, e.Detail, e.Fields[0].Field, e.Fields[0].Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

// New builds an error of the given code with a detail message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Field builds an invalid_request error naming one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: Invalid, Detail: field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// Fields builds an invalid_request error from several field errors.
func Fields(fields []FieldError) *Error {
	if len(fields) == 0 {
		return New(Invalid, "the request is invalid")
	}
	detail := fields[0].Field + ": " + fields[0].Message
	if len(fields) > 1 {
		detail = fmt.Sprintf("%s (and %d more)", detail, len(fields)-1)
	}
	return &Error{Code: Invalid, Detail: detail, Fields: fields}
}

// As returns the *Error inside err, or nil when err is not a domain error.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var fl fieldLister
	if errors.As(err, &fl) {
		var fields []FieldError
		fl.VisitFields(func(field, message string) { fields = append(fields, FieldError{Field: field, Message: message}) })
		return Fields(fields)
	}
	return nil
}

// fieldLister is the validation error of a package that does not import this one (the scoring
// engine depends on the standard library only): As reads it as invalid_request with its fields.
type fieldLister interface {
	error
	VisitFields(fn func(field, message string))
}

// CodeOf returns the code of err, Internal when it is not a domain error.
func CodeOf(err error) Code {
	if pe := As(err); pe != nil {
		return pe.Code
	}
	return Internal
}
