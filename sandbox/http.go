package sandbox

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
)

// Routes mounts the catalog: GET /v1/sandbox/companies lists the fictitious companies sandbox
// keys score.
func Routes(r httpx.Routes) {
	r.Authed.GET("/sandbox/companies", func(c *gin.Context) {
		httpx.JSON(c, http.StatusOK, gin.H{"object": "list", "data": Companies(), "has_more": false})
	})
}
