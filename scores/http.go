package scores

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scoring"
)

// Routes mounts the scoring call, its decision records and the model cards.
func (g *Service) Routes(r httpx.Routes) {
	r.Authed.POST("/scores", httpx.BodyLimit(scoring.MaxRequestBytes), g.handleScore)
	r.Authed.GET("/scores", g.handleList)
	r.Authed.GET("/scores/:id", g.handleGet)
	r.Authed.POST("/scores/:id/replay", g.handleReplay)
	r.Authed.GET("/models", g.handleModels)
	r.Authed.GET("/models/:version", g.handleModel)
}

func (g *Service) handleScore(c *gin.Context) {
	started := time.Now()
	body, err := httpx.ReadBody(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	ans, err := g.Score(c.Request.Context(), Call{
		Principal:      keys.PrincipalOf(c),
		Body:           body,
		IdempotencyKey: c.GetHeader("Idempotency-Key"),
		Language:       c.GetHeader("Accept-Language"),
		RequestID:      httpx.RequestID(c),
		Started:        started,
	})
	if len(ans.Limits) > 0 {
		policy, state := RateLimitHeaders(ans.Limits)
		c.Header("RateLimit-Policy", policy)
		c.Header("RateLimit", state)
	}
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.RawJSON(c, http.StatusOK, ans.Body, ans.Replayed)
}

func (g *Service) handleGet(c *gin.Context) {
	v, err := g.Decision(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, v)
}

func (g *Service) handleList(c *gin.Context) {
	page, err := httpx.ParseCompanyPage(c, ids.Score)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	f, err := parseDecisionFilter(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	views, err := g.listDecisions(c.Request.Context(), keys.PrincipalOf(c), page, f)
	httpx.RespondList(c, views, err, page, func(v DecisionView) DecisionView { return v })
}

// Decision is one decision record of the principal's tenant and environment, as the API shows it.
func (g *Service) Decision(ctx context.Context, p keys.Principal, id string) (DecisionView, error) {
	d, err := g.decision(ctx, p, id)
	if err != nil {
		return DecisionView{}, err
	}
	return decisionView(d)
}

// Decisions lists the principal's decision records newest first (of one company when the page
// names one, with one recommendation when it is set), without their inputs.
func (g *Service) Decisions(ctx context.Context, p keys.Principal, page httpx.Page, recommendation string) ([]DecisionView, error) {
	if recommendation != "" && recommendation != scoring.Accept && recommendation != scoring.RequestGuarantees && recommendation != scoring.Decline {
		return nil, problem.Field("recommendation", "must be accept, request_guarantees or decline")
	}
	return g.listDecisions(ctx, p, page, decisionFilter{recommendation: recommendation})
}

func (g *Service) listDecisions(ctx context.Context, p keys.Principal, page httpx.Page, f decisionFilter) ([]DecisionView, error) {
	list, err := g.decisions(ctx, p, page, f)
	if err != nil {
		return nil, err
	}
	views := make([]DecisionView, 0, len(list))
	for _, d := range list {
		v, err := decisionView(d)
		if err != nil {
			return nil, err
		}
		if !f.expandInput {
			v.Input = nil
		}
		views = append(views, v)
	}
	return views, nil
}

// decisionFilter narrows GET /v1/scores: by recommendation, by creation time (both ends
// included), and whether each record carries its input (expand[]=input).
type decisionFilter struct {
	recommendation string
	from, to       *time.Time
	expandInput    bool
	metadata       metadata.Filter
}

func parseDecisionFilter(c *gin.Context) (decisionFilter, error) {
	var f decisionFilter
	if r := c.Query("recommendation"); r != "" {
		if r != scoring.Accept && r != scoring.RequestGuarantees && r != scoring.Decline {
			return f, problem.Field("recommendation", "must be accept, request_guarantees or decline")
		}
		f.recommendation = r
	}
	var err error
	if f.from, f.to, err = httpx.ParseCreatedRange(c); err != nil {
		return f, err
	}
	if f.metadata, err = metadata.ParseFilter(c); err != nil {
		return f, err
	}
	for _, e := range append(c.QueryArray("expand[]"), c.QueryArray("expand")...) {
		if e != "input" {
			return f, problem.Field("expand[]", "can only be input")
		}
		f.expandInput = true
	}
	return f, nil
}

func decisionView(d Decision) (DecisionView, error) {
	var in scoring.Request
	if err := json.Unmarshal([]byte(d.Input), &in); err != nil {
		return DecisionView{}, fmt.Errorf("decode input of %s: %w", d.ID, err)
	}
	v := DecisionView{
		scoreHead: scoreHead{ID: d.ID, Object: "score", Environment: d.Environment, CreatedAt: d.CreatedAt.UTC(),
			Company:  CompanyRef{ID: in.Company.ID, IDType: in.Company.IDType, Name: in.Company.Name},
			Metadata: metadata.Decode(d.Metadata)},
		KeyID: d.KeyID, RequestID: d.RequestID, ConsentID: d.ConsentID,
		LatencyMS: float64(d.LatencyUS) / 1000, AsOf: d.AsOf.UTC(), InputSHA256: d.InputSHA256, Input: json.RawMessage(d.Input),
	}
	if err := json.Unmarshal([]byte(d.Output), &v.Result); err != nil {
		return DecisionView{}, fmt.Errorf("decode output of %s: %w", d.ID, err)
	}
	return v, nil
}
