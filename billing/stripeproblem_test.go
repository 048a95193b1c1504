package billing

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/rocketfin/rocketfin/internal/problem"
)

func TestStripeRefusalsAreTheCallersProblemAndOutagesOurs(t *testing.T) {
	cases := []struct {
		err  error
		code problem.Code
	}{
		{&stripe.Error{HTTPStatusCode: http.StatusBadRequest, Type: stripe.ErrorTypeIdempotency, Msg: "keys reused"}, problem.IdempotencyConflict},
		{&stripe.Error{HTTPStatusCode: http.StatusBadRequest, Type: stripe.ErrorTypeInvalidRequest, Param: "success_url", Msg: "Not a valid URL"}, problem.Invalid},
		{&stripe.Error{HTTPStatusCode: http.StatusTooManyRequests}, problem.RateLimited},
		{&stripe.Error{HTTPStatusCode: http.StatusInternalServerError}, problem.Internal},
		{errors.New("connection refused"), problem.Internal},
	}
	for _, c := range cases {
		if got := problem.CodeOf(stripeProblem(c.err, "create")); got != c.code {
			t.Errorf("%v: code %s, want %s", c.err, got, c.code)
		}
	}
	pe := problem.As(stripeProblem(cases[1].err, "create"))
	if pe == nil || len(pe.Fields) != 1 || pe.Fields[0].Field != "success_url" {
		t.Fatalf("the refused parameter is not named: %+v", pe)
	}
}
