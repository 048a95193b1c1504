package httpx

import (
	"mime"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// Routes are the groups every domain package mounts its routes on, in one Routes(r Routes)
// method: handlers decode, call the package's service and encode; none runs SQL.
type Routes struct {
	// Root serves pages a person opens (a link in an email), outside the API's prefix.
	Root gin.IRoutes
	// Public is /v1 without a credential.
	Public *gin.RouterGroup
	// Authed is /v1 behind an API key; the principal is keys.PrincipalOf(c).
	Authed *gin.RouterGroup
	// Operator is /admin/v1 behind the operator token; nil when the operator API is off.
	Operator *gin.RouterGroup
}

// JSONBodies refuses, before anything else reads it, a request whose Content-Type says it is not
// JSON: 415 unsupported_media_type. A body needs `application/json` (a charset parameter is
// fine); a request without a body may leave the header out.
func JSONBodies(c *gin.Context) {
	ct := c.GetHeader("Content-Type")
	// A length of -1 is a body of unknown length (chunked, or HTTP/2 without Content-Length).
	hasBody := c.Request.ContentLength != 0 || len(c.Request.TransferEncoding) > 0
	if ct == "" && !hasBody {
		c.Next()
		return
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		shown := ct
		if shown == "" {
			shown = "none"
		}
		Fail(c, problem.New(problem.UnsupportedMedia, "send the body as JSON with Content-Type: application/json (got %.60q)", shown))
		return
	}
	c.Next()
}

// NoIdempotencyKey refuses an Idempotency-Key on a route whose answer holds a secret shown once:
// RocketFin does not keep secrets to replay them, and ignoring a header the contract promises
// would mislead a client into retrying blindly. instead says how to check an earlier attempt.
func NoIdempotencyKey(instead string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("Idempotency-Key") == "" {
			c.Next()
			return
		}
		Fail(c, problem.Field("Idempotency-Key", "is not accepted here: the answer holds a secret shown once, which RocketFin does not keep to replay; %s", instead))
	}
}
