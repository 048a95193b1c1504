package httpx

import "github.com/gin-gonic/gin"

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
