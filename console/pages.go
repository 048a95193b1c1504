package console

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/oauth"
	"github.com/rocketfin/rocketfin/signin"
	"github.com/rocketfin/rocketfin/tenants"
)

// scoreCurl is the first call the pages show, with the key's beginning.
func (cs *Console) scoreCurl(key string) string {
	if key == "" {
		key = "rf_test_…"
	}
	return fmt.Sprintf(`curl -s -X POST %s/v1/scores \
  -H "Authorization: Bearer %s" \
  -H 'Content-Type: application/json' \
  -d '{"company":{"id":"999000011"}}'`, cs.PublicURL, key)
}

type homeData struct {
	Tenant                 tenants.View
	Trial, EmailVerified   bool
	VerificationRequired   bool
	DaysLeft, TrialCredits int
	SandboxPrefix, Curl    string
}

func (cs *Console) handleHome(c *gin.Context) {
	v := viewerOf(c)
	ctx := c.Request.Context()
	t, err := cs.Tenants.Get(ctx, v.TenantID)
	if err != nil {
		cs.fail(c, "error", page{Title: "Home"}, err)
		return
	}
	d := homeData{Tenant: tenants.NewView(t), Trial: t.Status == tenants.StatusTrial, EmailVerified: t.EmailVerifiedAt != nil,
		TrialCredits: tenants.TrialCredits, VerificationRequired: cs.RequireVerifiedEmail}
	d.DaysLeft = max(0, int(math.Ceil(t.TrialEndsAt.Sub(cs.Clock.Now()).Hours()/24)))
	// The sandbox key the curl names: the newest usable one the viewer may see.
	if v.Scopes.Has(access.KeysRead) || v.Environment == keys.Sandbox {
		sandbox := v.Principal
		sandbox.Environment = keys.Sandbox
		if list, err := cs.Keys.List(ctx, sandbox, httpx.Page{Limit: 10}, metadata.Filter{}); err == nil {
			for _, k := range list {
				if k.Usable(cs.Clock.Now()) {
					d.SandboxPrefix = k.Prefix
					break
				}
			}
		}
	}
	key := ""
	if d.SandboxPrefix != "" {
		key = d.SandboxPrefix + "…"
	}
	d.Curl = cs.scoreCurl(key)
	cs.render(c, http.StatusOK, "home", page{Title: "Home", Active: "home", Data: d})
}

// handleEnvironment is the sandbox ↔ live switch of every page.
func (cs *Console) handleEnvironment(c *gin.Context) {
	v := viewerOf(c)
	if err := cs.Signin.SwitchEnvironment(c.Request.Context(), c, *v, keys.Environment(c.PostForm("environment"))); err != nil {
		cs.fail(c, "error", page{Title: "Environment"}, err)
		return
	}
	c.Redirect(http.StatusSeeOther, signin.SafeReturn(c.PostForm("return_to")))
}

// secretView is a secret shown once.
type secretView struct{ ID, Label, Value string }

type keysData struct {
	Keys           []keys.View
	Clients        []oauth.View
	Scopes         []access.Scope
	NewSecret      *secretView
	NewSecretTitle string
}

// flashes are the messages a redirect after an action may name (?done=…): nothing a link can
// make the page say beyond these.
var flashes = map[string]string{
	"key_revoked":       "The key was revoked: calls with it fail.",
	"client_deleted":    "The OAuth2 client was deleted: its secret and tokens stop working.",
	"consent_recorded":  "The consent was recorded.",
	"consent_withdrawn": "The consent was withdrawn: calls relying on it are refused.",
	"member_invited":    "The invitation was sent.",
	"role_changed":      "The role was changed.",
	"member_removed":    "The member was removed; their sessions end within a second.",
	"subscribed":        "Thank you: Stripe confirms the subscription in a moment, and the account becomes active.",
	"checkout_canceled": "The checkout was canceled: nothing was charged. Subscribe again when ready.",
}

// errTooLong refuses a filter no stored value can match.
var errTooLong = problem.New(problem.Invalid, "a filter is at most 200 characters")

// keysPage renders the keys page of the viewer's environment, with a secret shown once.
func (cs *Console) keysPage(c *gin.Context, status int, secret *secretView, title string, err error) {
	v := viewerOf(c)
	ctx := c.Request.Context()
	now := cs.Clock.Now()
	d := keysData{NewSecret: secret, NewSecretTitle: title}
	for _, sc := range access.All {
		if v.Scopes.Has(sc) {
			d.Scopes = append(d.Scopes, sc)
		}
	}
	list, lerr := cs.Keys.List(ctx, v.Principal, httpx.Page{Limit: 100}, metadata.Filter{})
	for _, k := range list {
		d.Keys = append(d.Keys, keys.NewView(k, now))
	}
	clients, cerr := cs.Clients.List(ctx, v.Principal, httpx.Page{Limit: 100}, metadata.Filter{})
	for _, cl := range clients {
		d.Clients = append(d.Clients, oauth.NewView(cl, now))
	}
	p := page{Title: "API keys", Active: "keys", Data: d, Flash: flashes[c.Query("done")]}
	for _, e := range []error{err, lerr, cerr} {
		if e != nil {
			cs.fail(c, "keys", p, e)
			return
		}
	}
	cs.render(c, status, "keys", p)
}

func (cs *Console) handleKeys(c *gin.Context) { cs.keysPage(c, http.StatusOK, nil, "", nil) }

func (cs *Console) handleCreateKey(c *gin.Context) {
	v := viewerOf(c)
	issued, err := cs.Keys.Create(c.Request.Context(), v.Principal, keys.CreateInput{Name: c.PostForm("name")})
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	cs.keysPage(c, http.StatusCreated, &secretView{ID: "new-key", Label: "New key", Value: issued.Secret},
		fmt.Sprintf("Your new %s key %q", issued.Key.Environment, issued.Key.Name), nil)
}

func (cs *Console) handleRotateKey(c *gin.Context) {
	v := viewerOf(c)
	issued, err := cs.Keys.Rotate(c.Request.Context(), v.Principal, c.Param("id"), keys.DefaultGrace)
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	cs.keysPage(c, http.StatusCreated, &secretView{ID: "new-key", Label: "New key", Value: issued.Secret},
		"The successor of the rotated key (the old one works for 24 more hours)", nil)
}

// confirmed refuses a destructive action whose form was not confirmed.
func confirmed(c *gin.Context) error {
	if c.PostForm("confirm") != "yes" {
		return problem.Field("confirm", "tick the box to confirm")
	}
	return nil
}

func (cs *Console) handleRevokeKey(c *gin.Context) {
	v := viewerOf(c)
	err := confirmed(c)
	if err == nil {
		_, err = cs.Keys.Revoke(c.Request.Context(), v.Principal, c.Param("id"), false)
	}
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/keys?done=key_revoked")
}

func (cs *Console) handleCreateClient(c *gin.Context) {
	v := viewerOf(c)
	issued, err := cs.Clients.Create(c.Request.Context(), v.Principal, oauth.CreateInput{Name: c.PostForm("name"), Scopes: c.PostFormArray("scopes")})
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	cs.keysPage(c, http.StatusCreated, &secretView{ID: "new-secret", Label: "Client secret", Value: issued.Secret},
		fmt.Sprintf("The secret of %s (client id %s)", issued.Client.Name, issued.Client.ID), nil)
}

func (cs *Console) handleRotateClient(c *gin.Context) {
	v := viewerOf(c)
	issued, err := cs.Clients.RotateSecret(c.Request.Context(), v.Principal, c.Param("id"), keys.DefaultGrace)
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	cs.keysPage(c, http.StatusCreated, &secretView{ID: "new-secret", Label: "Client secret", Value: issued.Secret},
		fmt.Sprintf("The new secret of %s (the previous one works for 24 more hours)", issued.Client.Name), nil)
}

func (cs *Console) handleDeleteClient(c *gin.Context) {
	v := viewerOf(c)
	err := confirmed(c)
	if err == nil {
		_, err = cs.Clients.Delete(c.Request.Context(), v.Principal, c.Param("id"))
	}
	if err != nil {
		cs.keysPage(c, http.StatusOK, nil, "", err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/keys?done=client_deleted")
}

type signupData struct {
	Form   tenants.SignupInput
	Result *signupResult
}

type signupResult struct {
	Tenant                    tenants.View
	SandboxSecret, LiveSecret secretView
	Verification              *tenants.VerificationSent
	Curl, Email               string
}

func (cs *Console) handleSignupPage(c *gin.Context) {
	cs.render(c, http.StatusOK, "signup", page{Title: "Sign up", Data: signupData{}})
}

func (cs *Console) handleSignup(c *gin.Context) {
	in := tenants.SignupInput{CompanyName: c.PostForm("company_name"), Email: c.PostForm("email"), Country: c.PostForm("country")}
	p := page{Title: "Sign up", Data: signupData{Form: in}}
	v, err := cs.Signup.Signup(c.Request.Context(), c.ClientIP(), in)
	if err != nil {
		cs.fail(c, "signup", p, err)
		return
	}
	r := &signupResult{Tenant: v.Tenant, Verification: v.EmailVerification, Email: strings.TrimSpace(in.Email)}
	for _, k := range v.APIKeys {
		if k.Environment == keys.Sandbox {
			r.SandboxSecret = secretView{ID: "sandbox-key", Label: "Sandbox key", Value: k.Secret}
			r.Curl = cs.scoreCurl(k.Secret)
		} else {
			r.LiveSecret = secretView{ID: "live-key", Label: "Live key", Value: k.Secret}
		}
	}
	p.Data = signupData{Result: r}
	cs.render(c, http.StatusCreated, "signup", p)
}
