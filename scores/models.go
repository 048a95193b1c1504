package scores

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scoring"
)

// ReplayView is the answer of POST /v1/scores/{id}/replay: the decision's stored input
// evaluated again with its recorded model version, evaluation date and language. The result's
// fields are at the top level (as POST /v1/scores answers them) and under result.
type ReplayView struct {
	replayed
	Object        string    `json:"object"`
	ScoreID       string    `json:"score_id"`
	ModelVersion  string    `json:"model_version"`
	EvaluatedAsOf time.Time `json:"evaluated_as_of"`
	Language      string    `json:"language"`
	// Identical tells whether the result is, byte for byte, the one recorded with the decision.
	Identical bool           `json:"identical"`
	Result    scoring.Result `json:"result"`
}

// replayed is the result as ReplayView's top-level fields (its own model_version wins).
type replayed = scoring.Result

// handleModels lists the card of every embedded model, oldest first.
func (g *Service) handleModels(c *gin.Context) {
	versions := scoring.Versions()
	cards := make([]scoring.Card, 0, len(versions))
	for _, v := range versions {
		e, err := g.models.Engine(v)
		if err != nil {
			httpx.Fail(c, fmt.Errorf("load model %s: %w", v, err))
			return
		}
		cards = append(cards, e.Card())
	}
	httpx.JSON(c, http.StatusOK, gin.H{"object": "list", "data": cards, "has_more": false})
}

// handleModel serves one model's card.
func (g *Service) handleModel(c *gin.Context) {
	v := c.Param("version")
	e, err := g.models.Engine(v)
	if errors.Is(err, scoring.ErrUnknownModel) {
		httpx.Fail(c, problem.New(problem.NotFound, "no model %.80q; GET /v1/models lists them", v))
		return
	}
	if err != nil {
		httpx.Fail(c, fmt.Errorf("load model %s: %w", v, err))
		return
	}
	httpx.JSON(c, http.StatusOK, e.Card())
}

// handleReplay re-evaluates a decision of the caller's tenant and environment with the model,
// date and language it was made with. It charges nothing and records nothing, but counts
// against the credential's rate limit like a scoring call.
func (g *Service) handleReplay(c *gin.Context) {
	ctx := c.Request.Context()
	p := keys.PrincipalOf(c)
	now := g.clock.Now()
	tenant, err := g.tenants.Account(ctx, p.TenantID, now)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	buckets, err := g.takeTokens(ctx, p, tenant, now)
	if len(buckets) > 0 {
		policy, state := RateLimitHeaders(buckets)
		c.Header("RateLimit-Policy", policy)
		c.Header("RateLimit", state)
	}
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	id := c.Param("id")
	d, err := g.decision(c.Request.Context(), p, id)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v, err := g.reevaluate(&d, c.GetHeader("Accept-Language"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, v)
}

// reevaluate evaluates a decision's input again. Its language is the recorded one; a record made
// before languages were kept is tried in each language, and the one that gives back the recorded
// answer wins (else the caller's Accept-Language).
func (g *Service) reevaluate(d *Decision, accept string) (ReplayView, error) {
	e, err := g.models.Engine(d.ModelVersion)
	if errors.Is(err, scoring.ErrUnknownModel) {
		return ReplayView{}, problem.New(problem.NotFound, "score %s was made by model %.80q, which this server does not embed", d.ID, d.ModelVersion)
	}
	if err != nil {
		return ReplayView{}, fmt.Errorf("replay %s: %w", d.ID, err)
	}
	var req scoring.Request
	if err := json.Unmarshal([]byte(d.Input), &req); err != nil {
		return ReplayView{}, fmt.Errorf("replay %s: decode stored input: %w", d.ID, err)
	}
	langs := []string{d.Language}
	if d.Language == "" {
		langs = append(scoring.Languages(), scoring.Language(accept))
	}
	v := ReplayView{Object: "score_replay", ScoreID: d.ID, ModelVersion: d.ModelVersion, EvaluatedAsOf: d.AsOf.UTC()}
	for i, lang := range langs {
		res, err := e.Evaluate(&req, scoring.Options{AsOf: d.AsOf, Language: lang})
		if err != nil {
			return ReplayView{}, fmt.Errorf("replay %s: %w", d.ID, err)
		}
		out, err := json.Marshal(res)
		if err != nil {
			return ReplayView{}, fmt.Errorf("replay %s: encode: %w", d.ID, err)
		}
		v.Language, v.Result, v.replayed, v.Identical = lang, res, res, bytes.Equal(out, []byte(d.Output))
		if v.Identical || i == len(langs)-1 {
			break
		}
	}
	return v, nil
}
