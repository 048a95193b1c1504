package sandbox

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/httpx"
)

// Listed is a catalog company as GET /v1/sandbox/companies lists it, with the consent scopes a
// call needs for it (a sole trader's data is a person's, in the sandbox as in live).
type Listed struct {
	Company
	ConsentScopes []string `json:"consent_scopes"`
}

// Routes mounts the catalog: GET /v1/sandbox/companies lists the fictitious companies sandbox
// keys score.
func Routes(r httpx.Routes) {
	r.Authed.GET("/sandbox/companies", func(c *gin.Context) {
		companies := Companies()
		out := make([]Listed, len(companies))
		for i, co := range companies {
			out[i] = Listed{Company: co, ConsentScopes: []string{}}
			if req, _ := Lookup(co.ID); consents.NaturalPerson(req.Company.LegalForm) {
				out[i].ConsentScopes = []string{consents.ScopePersonalData}
			}
		}
		httpx.JSON(c, http.StatusOK, gin.H{"object": "list", "data": out, "has_more": false})
	})
}
