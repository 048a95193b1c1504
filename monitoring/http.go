package monitoring

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scores"
)

// CreatedView is the answer of POST /v1/monitors: the monitor and its first evaluation.
type CreatedView struct {
	View
	// Decision is the answer of the scoring call that made the monitor (as POST /v1/scores answers).
	Decision json.RawMessage `json:"decision"`
}

// EventRef names an event emitted.
type EventRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// UpdateView is the answer of a re-score: the monitor after it, the decision and the events.
type UpdateView struct {
	Object   string      `json:"object"`
	Monitor  View        `json:"monitor"`
	Decision DecisionRef `json:"decision"`
	Events   []EventRef  `json:"events"`
}

func newUpdateView(u Update) UpdateView {
	v := UpdateView{Object: "monitor_update", Monitor: NewView(u.Monitor), Events: []EventRef{},
		Decision: DecisionRef{ID: u.Decision.ID, Score: u.Decision.Score, PD12m: u.Decision.PD12m, Grade: u.Decision.Grade,
			Recommendation: u.Decision.Recommendation, CreatedAt: u.Decision.CreatedAt.UTC()}}
	if u.Decision.Cause != nil {
		v.Decision.Cause = *u.Decision.Cause
	}
	for _, e := range u.Events {
		v.Events = append(v.Events, EventRef{ID: e.ID, Type: e.Type})
	}
	return v
}

// Routes mounts the monitor routes; sandboxDate is the sandbox's evaluation date.
func (s *Service) Routes(r httpx.Routes, sandboxDate func() time.Time) {
	r.Authed.POST("/monitors", s.handleCreate)
	r.Authed.GET("/monitors", s.handleList)
	r.Authed.GET("/monitors/:id", s.handleGet)
	r.Authed.PATCH("/monitors/:id", s.handleUpdate)
	r.Authed.DELETE("/monitors/:id", s.handleDelete)
	r.Authed.POST("/monitors/:id/data", s.handleData)
	r.Authed.POST("/sandbox/monitors/:id/simulate", func(c *gin.Context) { s.handleSimulate(c, sandboxDate()) })
	if r.Operator != nil {
		r.Operator.POST("/monitoring/sweep", s.handleSweep)
	}
}

// SweepView is the operator's account of a sweep run on demand.
type SweepView struct {
	Object    string `json:"object"`
	Seen      int    `json:"seen"`
	Rescored  int    `json:"rescored"`
	Unchanged int    `json:"unchanged"`
	Paused    int    `json:"paused"`
	Failed    int    `json:"failed"`
	TookMS    int64  `json:"took_ms"`
}

// handleSweep runs the daily sweep now (after an incident, or to check it), on this replica.
func (s *Service) handleSweep(c *gin.Context) {
	st, err := s.Sweep(c.Request.Context())
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.Logger(c).Info("operator ran the monitoring sweep", "seen", st.Seen, "rescored", st.Rescored, "paused", st.Paused)
	httpx.JSON(c, http.StatusOK, SweepView{Object: "monitoring_sweep", Seen: st.Seen, Rescored: st.Rescored, Unchanged: st.Unchanged,
		Paused: st.Paused, Failed: st.Failed, TookMS: st.Took.Milliseconds()})
}

func (s *Service) handleCreate(c *gin.Context) {
	started := time.Now()
	body, err := httpx.ReadBody(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	created, err := s.Create(c.Request.Context(), scores.Call{Principal: keys.PrincipalOf(c), Body: body,
		IdempotencyKey: c.GetHeader("Idempotency-Key"), Language: c.GetHeader("Accept-Language"),
		RequestID: httpx.RequestID(c), Started: started})
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.RawJSON(c, http.StatusCreated, created.Body, created.Replayed)
}

var recommendations = []string{"accept", "request_guarantees", "decline"}

func oneOf(c *gin.Context, name string, allowed ...string) (string, error) {
	v := c.Query(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", problem.Field(name, "must be one of %v", allowed)
}

func (s *Service) handleList(c *gin.Context) {
	page, err := httpx.ParseCompanyPage(c, ids.Monitor)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	var f Filter
	for _, q := range []struct {
		name    string
		dst     *string
		allowed []string
	}{
		{"grade", &f.Grade, s.grades}, {"recommendation", &f.Recommendation, recommendations},
		{"alert_state", &f.AlertState, []string{AlertOK, AlertAlerting}}, {"status", &f.Status, []string{StatusActive, StatusPaused}},
	} {
		if *q.dst, err = oneOf(c, q.name, q.allowed...); err != nil {
			httpx.Fail(c, err)
			return
		}
	}
	list, err := s.List(c.Request.Context(), keys.PrincipalOf(c), page, f)
	httpx.RespondList(c, list, err, page, NewView)
}

func (s *Service) handleGet(c *gin.Context) {
	m, err := s.Get(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(m))
}

func (s *Service) handleUpdate(c *gin.Context) {
	var in UpdateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	m, err := s.Update(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(m))
}

func (s *Service) handleDelete(c *gin.Context) {
	m, err := s.Delete(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(m))
}

func (s *Service) handleData(c *gin.Context) {
	var in DataInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	u, err := s.AddData(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, newUpdateView(u))
}

// SimulateInput is the body of POST /v1/sandbox/monitors/{id}/simulate.
type SimulateInput struct {
	Event string `json:"event"`
}

func (s *Service) handleSimulate(c *gin.Context, asOf time.Time) {
	var in SimulateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	u, err := s.Simulate(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in.Event, asOf)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, newUpdateView(u))
}
