// Package access is RocketFin's one permission table: which scope each route of the API needs,
// and which scopes each credential holds. Machines hold scopes directly (an OAuth2 client's are
// chosen when it is made; an API key holds every scope of its environment); people hold the scopes
// of their role. The Require middleware refuses with 403 forbidden a call whose principal lacks the
// route's scope, and refuses a route missing from the table (fail closed).
package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Scope is one permission, as OAuth2 clients request it.
type Scope string

// The scopes, each a family of routes.
const (
	ScoresWrite   Scope = "scores:write"   // score companies (live scores spend credits)
	ScoresRead    Scope = "scores:read"    // decisions, replays, models, the sandbox catalog
	ConsentsWrite Scope = "consents:write" // record and withdraw consents
	ConsentsRead  Scope = "consents:read"  // list and read consents
	KeysWrite     Scope = "keys:write"     // create, rotate and revoke API keys and OAuth2 clients
	KeysRead      Scope = "keys:read"      // list API keys and OAuth2 clients
	UsageRead     Scope = "usage:read"     // usage summary and export
	BillingRead   Scope = "billing:read"   // invoices and reconciliation
	BillingWrite  Scope = "billing:write"  // subscribe
	TenantRead    Scope = "tenant:read"    // the tenant's account
	TenantWrite   Scope = "tenant:write"   // settings (monthly cap, API version), email verification
	AuditRead     Scope = "audit:read"     // the audit trail
	MembersRead   Scope = "members:read"   // the tenant's members and invitations
	MembersWrite  Scope = "members:write"  // invite, change roles, remove members
	WebhooksWrite Scope = "webhooks:write" // webhook endpoints: create, change, rotate, delete; redeliver events
	WebhooksRead  Scope = "webhooks:read"  // webhook endpoints and their deliveries
	EventsRead    Scope = "events:read"    // the events (score changes, critical events, …)
	MonitorsWrite Scope = "monitors:write" // put companies under watch (charged as a score), add data, simulate
	MonitorsRead  Scope = "monitors:read"  // monitors
)

// All is every scope, in the order the documentation lists them.
var All = []Scope{ScoresWrite, ScoresRead, ConsentsWrite, ConsentsRead, KeysWrite, KeysRead,
	UsageRead, BillingRead, BillingWrite, TenantRead, TenantWrite, AuditRead, MembersRead, MembersWrite,
	WebhooksWrite, WebhooksRead, EventsRead, MonitorsWrite, MonitorsRead}

// Role is what a person may do in a tenant.
type Role string

// The roles, from most to least powerful.
const (
	Owner     Role = "owner"     // everything, including billing and other owners
	Admin     Role = "admin"     // everything but subscribing and owners
	Developer Role = "developer" // scores and consents; keys and clients of the sandbox
	Finance   Role = "finance"   // usage, invoices and reconciliation, read-only
)

// Roles are every role.
var Roles = []Role{Owner, Admin, Developer, Finance}

// ValidRole reports whether r is a role.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// grant is one scope of a role, perhaps in the sandbox only.
type grant struct {
	scope       Scope
	sandboxOnly bool
}

func grants(scopes ...Scope) []grant {
	out := make([]grant, len(scopes))
	for i, s := range scopes {
		out[i] = grant{scope: s}
	}
	return out
}

// roleTable is the permission table for people: the scopes each role holds. Together with Routes
// it decides every route for every role.
var roleTable = map[Role][]grant{
	Owner: nil, // every scope: see RoleScopes
	Admin: grants(ScoresWrite, ScoresRead, ConsentsWrite, ConsentsRead, KeysWrite, KeysRead, UsageRead,
		BillingRead, TenantRead, TenantWrite, AuditRead, MembersRead, MembersWrite, WebhooksWrite, WebhooksRead, EventsRead,
		MonitorsWrite, MonitorsRead),
	// Developers integrate in the sandbox: where live events are sent is an admin's decision.
	Developer: append(grants(ScoresWrite, ScoresRead, ConsentsWrite, ConsentsRead, TenantRead, EventsRead,
		MonitorsWrite, MonitorsRead), grant{KeysWrite, true}, grant{KeysRead, true}, grant{WebhooksWrite, true}, grant{WebhooksRead, true}),
	Finance: grants(UsageRead, BillingRead, TenantRead),
}

// RoleScopes is what a person of role r holds in environment env ("sandbox" or "live").
func RoleScopes(r Role, env string) Set {
	if r == Owner {
		return Every()
	}
	out := Of()
	for _, g := range roleTable[r] {
		if !g.sandboxOnly || env == "sandbox" {
			out.scopes[g.scope] = true
		}
	}
	return out
}

// Known reports whether s is a scope.
func Known(s Scope) bool { return slices.Contains(All, s) }

// Set is the scopes a credential holds; the zero value holds none.
type Set struct {
	all    bool
	scopes map[Scope]bool
}

// Every holds every scope: an API key's.
func Every() Set { return Set{all: true} }

// Of holds the scopes given.
func Of(scopes ...Scope) Set {
	s := Set{scopes: make(map[Scope]bool, len(scopes))}
	for _, sc := range scopes {
		s.scopes[sc] = true
	}
	return s
}

// IsEvery tells whether the set holds every scope, present and future: an owner-level credential.
func (s Set) IsEvery() bool { return s.all }

// Without is the set less the scopes given.
func (s Set) Without(scopes ...Scope) Set {
	out := Of()
	for _, sc := range s.List() {
		if !slices.Contains(scopes, sc) {
			out.scopes[sc] = true
		}
	}
	return out
}

// SandboxMachineCeiling is what a machine credential of the sandbox may hold at most: the people
// of the tenant and its subscription are live matters, decided with live credentials.
var SandboxMachineCeiling = Every().Without(MembersWrite, BillingWrite)

// Has reports whether the set holds sc.
func (s Set) Has(sc Scope) bool { return s.all || s.scopes[sc] }

// Contains reports whether the set holds every scope of o.
func (s Set) Contains(o Set) bool {
	if s.all {
		return true
	}
	if o.all {
		return false
	}
	for sc := range o.scopes {
		if !s.scopes[sc] {
			return false
		}
	}
	return true
}

// Intersect is what both sets hold.
func (s Set) Intersect(o Set) Set {
	switch {
	case s.all:
		return o
	case o.all:
		return s
	}
	out := Of()
	for sc := range s.scopes {
		if o.scopes[sc] {
			out.scopes[sc] = true
		}
	}
	return out
}

// List is the scopes held, sorted.
func (s Set) List() []Scope {
	if s.all {
		return slices.Clone(All)
	}
	out := make([]Scope, 0, len(s.scopes))
	for sc := range s.scopes {
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// String is the scopes held, space-separated as OAuth2 writes them.
func (s Set) String() string {
	l := s.List()
	parts := make([]string, len(l))
	for i, sc := range l {
		parts[i] = string(sc)
	}
	return strings.Join(parts, " ")
}

// Parse reads space-separated scopes (OAuth2's scope parameter), refusing unknown ones.
func Parse(text string) (Set, error) {
	out := Of()
	for _, f := range strings.Fields(text) {
		if !Known(Scope(f)) {
			return Set{}, fmt.Errorf("unknown scope %q", f)
		}
		out.scopes[Scope(f)] = true
	}
	return out, nil
}
