package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

// formatMoney writes an amount in major units with its currency: "12,500.00 EUR".
func formatMoney(m scoring.Money) string {
	digits := scoring.MinorUnits(m.Currency)
	neg := m.Amount < 0
	a := m.Amount
	if neg {
		a = -a
	}
	unit := int64(math.Pow10(digits))
	whole, frac := a/unit, a%unit
	s := strconv.FormatInt(whole, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if digits > 0 {
		out += fmt.Sprintf(".%0*d", digits, frac)
	}
	if neg {
		out = "-" + out
	}
	return out + " " + m.Currency
}

func formatPct(p float64) string { return strconv.FormatFloat(p*100, 'f', 2, 64) + "%" }

func indentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

type playgroundData struct {
	Companies         []sandbox.Company
	Languages         []string
	Company, Language string
	Body, Curl        string
	Result            *scores.ScoreView
}

func (cs *Console) playgroundData(c *gin.Context) playgroundData {
	d := playgroundData{Languages: scoring.Languages(), Language: "en"}
	if viewerOf(c).Environment == keys.Sandbox {
		d.Companies = sandbox.Companies()
	}
	return d
}

func (cs *Console) handlePlayground(c *gin.Context) {
	d := cs.playgroundData(c)
	if len(d.Companies) > 0 {
		d.Company = d.Companies[0].ID
	}
	d.Body = "{\n  \"company\": {\"id\": \"999000011\"}\n}"
	cs.render(c, http.StatusOK, "playground", page{Title: "Playground", Active: "playground", Data: d})
}

// handleScore scores through the same call as POST /v1/scores, as the signed-in member.
func (cs *Console) handleScore(c *gin.Context) {
	v := viewerOf(c)
	d := cs.playgroundData(c)
	d.Company, d.Body, d.Language = c.PostForm("company"), c.PostForm("body"), c.PostForm("language")
	body := d.Body
	if d.Company != "" && v.Environment == keys.Sandbox {
		b, _ := json.Marshal(map[string]any{"company": map[string]string{"id": d.Company}})
		body = string(b)
	}
	p := page{Title: "Playground", Active: "playground", Data: &d}
	if len(body) > scoring.MaxRequestBytes {
		cs.fail(c, "playground", p, problem.Field("body", "must be at most %d bytes", scoring.MaxRequestBytes))
		return
	}
	d.Curl = fmt.Sprintf("curl -s -X POST %s/v1/scores \\\n  -H \"Authorization: Bearer $ROCKETFIN_KEY\" \\\n  -H 'Content-Type: application/json' \\\n  -H 'Accept-Language: %s' \\\n  -d '%s'",
		cs.PublicURL, d.Language, strings.ReplaceAll(compactJSON(body), "'", `'\''`))
	ans, err := cs.Scores.Score(c.Request.Context(), scores.Call{Principal: v.Principal, Body: []byte(body), Language: d.Language,
		RequestID: httpx.RequestID(c), Started: time.Now()})
	if err != nil {
		cs.fail(c, "playground", p, err)
		return
	}
	var res scores.ScoreView
	if err := json.Unmarshal(ans.Body, &res); err != nil {
		cs.fail(c, "playground", p, fmt.Errorf("read the score: %w", err))
		return
	}
	d.Result = &res
	cs.render(c, http.StatusOK, "playground", p)
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

type decisionsData struct {
	Decisions                 []scores.DecisionView
	Recommendations           []string
	CompanyID, Recommendation string
	Next                      string
}

func (cs *Console) handleDecisions(c *gin.Context) {
	v := viewerOf(c)
	d := decisionsData{Recommendations: []string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline},
		CompanyID: strings.TrimSpace(c.Query("company_id")), Recommendation: c.Query("recommendation")}
	p := page{Title: "Decisions", Active: "decisions", Data: d}
	pg := httpx.Page{Limit: 50, CompanyID: d.CompanyID}
	if after := c.Query("starting_after"); ids.Valid(ids.Score, after) {
		pg.StartingAfter = after
	}
	list, err := cs.Scores.Decisions(c.Request.Context(), v.Principal, pg, d.Recommendation)
	if err != nil {
		cs.fail(c, "decisions", p, err)
		return
	}
	if len(list) > pg.Limit {
		list = list[:pg.Limit]
		q := url.Values{"company_id": {d.CompanyID}, "recommendation": {d.Recommendation}, "starting_after": {list[len(list)-1].ID}}
		d.Next = "/console/decisions?" + q.Encode()
	}
	d.Decisions = list
	p.Data = d
	cs.render(c, http.StatusOK, "decisions", p)
}

func (cs *Console) handleDecision(c *gin.Context) {
	v := viewerOf(c)
	dv, err := cs.Scores.Decision(c.Request.Context(), v.Principal, c.Param("id"))
	if err != nil {
		cs.fail(c, "error", page{Title: "Decision", Active: "decisions"}, err)
		return
	}
	cs.render(c, http.StatusOK, "decision", page{Title: "Decision " + dv.ID, Active: "decisions", Data: dv})
}
