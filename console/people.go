package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/members"
)

type consentsData struct {
	Consents []consents.View
	Form     consents.CreateInput
}

func (cs *Console) consentsPage(c *gin.Context, status int, form consents.CreateInput, flash string, err error) {
	v := viewerOf(c)
	now := cs.Clock.Now()
	list, lerr := cs.Consents.List(c.Request.Context(), v.Principal, httpx.Page{Limit: 100}, metadata.Filter{})
	d := consentsData{Form: form}
	for _, con := range list {
		d.Consents = append(d.Consents, consents.NewView(con, now))
	}
	p := page{Title: "Consents", Active: "consents", Data: d, Flash: flash}
	for _, e := range []error{err, lerr} {
		if e != nil {
			cs.fail(c, "consents", p, e)
			return
		}
	}
	cs.render(c, status, "consents", p)
}

func (cs *Console) handleConsents(c *gin.Context) {
	cs.consentsPage(c, http.StatusOK, consents.CreateInput{}, flashes[c.Query("done")], nil)
}

func (cs *Console) handleCreateConsent(c *gin.Context) {
	v := viewerOf(c)
	in := consents.CreateInput{CompanyID: c.PostForm("company_id"), Scopes: c.PostFormArray("scopes"), Evidence: c.PostForm("evidence")}
	if _, err := cs.Consents.Create(c.Request.Context(), v.Principal, in); err != nil {
		cs.consentsPage(c, http.StatusOK, in, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/consents?done=consent_recorded")
}

func (cs *Console) handleWithdrawConsent(c *gin.Context) {
	v := viewerOf(c)
	err := confirmed(c)
	if err == nil {
		_, err = cs.Consents.Withdraw(c.Request.Context(), v.Principal, c.Param("id"))
	}
	if err != nil {
		cs.consentsPage(c, http.StatusOK, consents.CreateInput{}, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/consents?done=consent_withdrawn")
}

type teamData struct {
	Members       []members.View
	Roles         []access.Role
	ManagesOwners bool
}

func (cs *Console) teamPage(c *gin.Context, status int, flash string, err error) {
	v := viewerOf(c)
	now := cs.Clock.Now()
	list, lerr := cs.Members.List(c.Request.Context(), v.Principal, httpx.Page{Limit: 100})
	d := teamData{Roles: access.Roles, ManagesOwners: v.Role == access.Owner}
	if !d.ManagesOwners {
		d.Roles = access.Roles[1:]
	}
	for _, m := range list {
		d.Members = append(d.Members, members.NewView(m, now))
	}
	p := page{Title: "Team", Active: "team", Data: d, Flash: flash}
	for _, e := range []error{err, lerr} {
		if e != nil {
			cs.fail(c, "team", p, e)
			return
		}
	}
	cs.render(c, status, "team", p)
}

func (cs *Console) handleTeam(c *gin.Context) {
	cs.teamPage(c, http.StatusOK, flashes[c.Query("done")], nil)
}

func (cs *Console) handleInvite(c *gin.Context) {
	v := viewerOf(c)
	in := members.InviteInput{Email: c.PostForm("email"), Role: access.Role(c.PostForm("role"))}
	if _, err := cs.Members.Invite(c.Request.Context(), v.Principal, in); err != nil {
		cs.teamPage(c, http.StatusOK, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/team?done=member_invited")
}

func (cs *Console) handleSetRole(c *gin.Context) {
	v := viewerOf(c)
	if _, err := cs.Members.SetRole(c.Request.Context(), v.Principal, c.Param("id"), members.UpdateInput{Role: access.Role(c.PostForm("role"))}); err != nil {
		cs.teamPage(c, http.StatusOK, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/team?done=role_changed")
}

func (cs *Console) handleRemoveMember(c *gin.Context) {
	v := viewerOf(c)
	err := confirmed(c)
	if err == nil {
		_, err = cs.Members.Remove(c.Request.Context(), v.Principal, c.Param("id"))
	}
	if err != nil {
		cs.teamPage(c, http.StatusOK, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/team?done=member_removed")
}

type auditData struct {
	Events                    []audit.View
	Action, ActorID, TargetID string
	Next                      string
}

func (cs *Console) handleAudit(c *gin.Context) {
	v := viewerOf(c)
	d := auditData{Action: strings.TrimSpace(c.Query("action")), ActorID: strings.TrimSpace(c.Query("actor_id")), TargetID: strings.TrimSpace(c.Query("target_id"))}
	pg := httpx.Page{Limit: 50}
	if after := c.Query("starting_after"); ids.Valid(ids.Audit, after) {
		pg.StartingAfter = after
	}
	p := page{Title: "Audit log", Active: "audit", Data: d}
	for _, s := range []string{d.Action, d.ActorID, d.TargetID} {
		if len(s) > 200 {
			cs.fail(c, "audit", p, errTooLong)
			return
		}
	}
	list, err := audit.List(c.Request.Context(), cs.DB, v.TenantID, string(v.Environment), audit.Filter{Action: d.Action, ActorID: d.ActorID, TargetID: d.TargetID}, pg)
	if err != nil {
		cs.fail(c, "audit", p, err)
		return
	}
	if len(list) > pg.Limit {
		list = list[:pg.Limit]
		q := url.Values{"action": {d.Action}, "actor_id": {d.ActorID}, "target_id": {d.TargetID}, "starting_after": {list[len(list)-1].ID}}
		d.Next = "/console/audit?" + q.Encode()
	}
	for _, e := range list {
		d.Events = append(d.Events, audit.NewView(e))
	}
	p.Data = d
	cs.render(c, http.StatusOK, "audit", p)
}
