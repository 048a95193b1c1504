// Package apiversion holds RocketFin's dated API versions (RocketFin-Version: YYYY-MM-DD): the
// versions that exist, the current one new tenants are pinned to, and how a request's version is
// chosen — the header when it names a known version, else the tenant's pinned one, else the
// current one. Every answer names the version that served it in the same header.
package apiversion

import (
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Header carries the version in both directions.
const Header = "RocketFin-Version"

// Versions are the published versions, oldest first; the changes of each are in the changelog.
var Versions = []string{"2026-11-30"}

// Current is the version new tenants are pinned to.
func Current() string { return Versions[len(Versions)-1] }

// Known reports whether v is a published version.
func Known(v string) bool { return slices.Contains(Versions, v) }

func set(c *gin.Context, v string) { c.Header(Header, v) }

// Requested checks the header of every request: an unknown version is 400 naming it; a known one
// serves the request, else the current one does until Pinned says otherwise.
func Requested(c *gin.Context) {
	v := c.GetHeader(Header)
	if v != "" && !Known(v) {
		set(c, Current())
		httpx.Fail(c, problem.Field(Header, "%q is not a RocketFin API version; the versions are %v (see the changelog)", v, Versions))
		return
	}
	if v == "" {
		v = Current()
	}
	set(c, v)
	c.Next()
}

// Pinned serves an authenticated request without the header in the version its tenant is
// pinned to, which pinned(ctx) reads.
func Pinned(pinned func(c *gin.Context) (string, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader(Header) == "" {
			v, err := pinned(c)
			if err != nil {
				httpx.Fail(c, err)
				return
			}
			if Known(v) {
				set(c, v)
			}
		}
		c.Next()
	}
}
