package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/keys"
)

func TestSignupGivesATrialAndTwoWorkingKeys(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ana@example.com")

	tenant := a.Body.Body["tenant"].(map[string]any)
	if tenant["status"] != "trial" || tenant["credits_remaining"] != float64(5) {
		t.Fatalf("tenant = %v, want status trial with 5 credits", tenant)
	}
	ends, err := time.Parse(time.RFC3339, tenant["trial_ends_at"].(string))
	if err != nil || !ends.Equal(epoch.Add(14*24*time.Hour)) {
		t.Fatalf("trial_ends_at = %v, want %v", tenant["trial_ends_at"], epoch.Add(14*24*time.Hour))
	}
	if !strings.HasPrefix(a.Sandbox, "rf_test_") || !strings.HasPrefix(a.Live, "rf_live_") {
		t.Fatalf("secrets %q and %q lack their prefixes", a.Sandbox, a.Live)
	}
	for env, secret := range map[string]string{"sandbox": a.Sandbox, "live": a.Live} {
		r := s.do("GET", "/v1/tenant", secret, nil)
		expect(t, r, http.StatusOK)
		if r.str("id") != a.TenantID || r.str("environment") != env || r.str("plan") == "" {
			t.Fatalf("GET /v1/tenant with the %s key = %s", env, r.Raw)
		}
	}
}

func TestDuplicateSignupIsConflictWhateverTheCase(t *testing.T) {
	s := startServer(t, nil)
	s.signup("bruno@example.com")
	r := s.do("POST", "/v1/signup", "", map[string]string{"company_name": "Other", "email": "Bruno@Example.COM", "country": "PT"})
	expectProblem(t, r, http.StatusConflict, "conflict", "")
}

func TestSignupValidationNamesTheFields(t *testing.T) {
	s := startServer(t, nil)
	r := s.do("POST", "/v1/signup", "", map[string]string{"company_name": "", "email": "not-an-email", "country": "France"})
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "company_name")
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "email")
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "country")
}

func TestSignupIsRateLimitedPerClientAddress(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_SIGNUP_PER_HOUR": "3"})
	for i := 0; i < 3; i++ {
		s.signup(strings.Repeat("x", i+1) + "@example.com")
	}
	r := s.do("POST", "/v1/signup", "", map[string]string{"company_name": "Late", "email": "late@example.com", "country": "FR"})
	expectProblem(t, r, http.StatusTooManyRequests, "rate_limited", "")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	s.clock.Advance(time.Hour)
	s.signup("late@example.com")
}

func TestRotatedKeyWorksUntilGraceEnds(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("carla@example.com")
	oldID := s.keyID(a.Live)

	r := s.do("POST", "/v1/keys/"+oldID+"/rotate", a.Live, map[string]any{"grace_period_seconds": 3600})
	expect(t, r, http.StatusCreated)
	newSecret := r.str("secret")
	if !strings.HasPrefix(newSecret, "rf_live_") || r.str("rotated_from") != oldID {
		t.Fatalf("rotate answer = %s", r.Raw)
	}

	s.clock.Advance(59 * time.Minute)
	expect(t, s.do("GET", "/v1/tenant", a.Live, nil), http.StatusOK)
	expect(t, s.do("GET", "/v1/tenant", newSecret, nil), http.StatusOK)

	s.clock.Advance(time.Minute)
	expectProblem(t, s.do("GET", "/v1/tenant", a.Live, nil), http.StatusUnauthorized, "unauthenticated", "")
	expect(t, s.do("GET", "/v1/tenant", newSecret, nil), http.StatusOK)

	r = s.do("GET", "/v1/keys/"+oldID, newSecret, nil)
	expect(t, r, http.StatusOK)
	if r.str("status") != "expired" {
		t.Fatalf("old key status %q, want expired", r.str("status"))
	}
	expectProblem(t, s.do("POST", "/v1/keys/"+oldID+"/rotate", newSecret, nil), http.StatusConflict, "conflict", "")
}

func TestRotationGraceIsBoundedAndDefaultsToOneDay(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("dora@example.com")
	id := s.keyID(a.Sandbox)
	expectProblem(t, s.do("POST", "/v1/keys/"+id+"/rotate", a.Sandbox, map[string]any{"grace_period_seconds": 604801}),
		http.StatusBadRequest, "invalid_request", "grace_period_seconds")
	expectProblem(t, s.do("POST", "/v1/keys/"+id+"/rotate", a.Sandbox, map[string]any{"grace_period_seconds": -1}),
		http.StatusBadRequest, "invalid_request", "grace_period_seconds")

	r := s.do("POST", "/v1/keys/"+id+"/rotate", a.Sandbox, nil)
	expect(t, r, http.StatusCreated)
	old := s.do("GET", "/v1/keys/"+id, r.str("secret"), nil)
	if old.str("expires_at") != epoch.Add(24*time.Hour).Format(time.RFC3339) || old.str("status") != "expiring" {
		t.Fatalf("old key after default rotation = %s", old.Raw)
	}
	expectProblem(t, s.do("POST", "/v1/keys/"+id+"/rotate", a.Sandbox, nil), http.StatusConflict, "conflict", "")
}

func TestRevokedKeyFailsAtOnce(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("eva@example.com")
	created := s.do("POST", "/v1/keys", a.Live, map[string]string{"name": "CRM integration"})
	expect(t, created, http.StatusCreated)
	secret := created.str("secret")
	expect(t, s.do("GET", "/v1/tenant", secret, nil), http.StatusOK) // warms the cache

	r := s.do("DELETE", "/v1/keys/"+created.str("id"), a.Live, nil)
	expect(t, r, http.StatusOK)
	if r.str("status") != "revoked" {
		t.Fatalf("revoked key shows status %q", r.str("status"))
	}
	expectProblem(t, s.do("GET", "/v1/tenant", secret, nil), http.StatusUnauthorized, "unauthenticated", "")
	expect(t, s.do("GET", "/v1/tenant", a.Live, nil), http.StatusOK)
}

func TestRevocationReachesAnotherReplicaWithinTheCacheTTL(t *testing.T) {
	a := startServer(t, nil)
	env := map[string]string{}
	for k, v := range a.env {
		env[k] = v
	}
	b := startWith(t, env, a.clock) // a second replica on the same database
	acct := a.signup("fred@example.com")
	created := a.do("POST", "/v1/keys", acct.Live, map[string]string{"name": "replicated"})
	secret := created.str("secret")
	expect(t, b.do("GET", "/v1/tenant", secret, nil), http.StatusOK) // b caches the key

	expect(t, a.do("DELETE", "/v1/keys/"+created.str("id"), acct.Live, nil), http.StatusOK)
	expectProblem(t, a.do("GET", "/v1/tenant", secret, nil), http.StatusUnauthorized, "unauthenticated", "")
	a.clock.Advance(time.Second) // the cache TTL (1s) of replica b runs out
	expectProblem(t, b.do("GET", "/v1/tenant", secret, nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestAnotherTenantsKeysAreNotFound(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("gil@example.com")
	b := s.signup("hana@example.com")
	bKey := s.keyID(b.Live)

	list := s.do("GET", "/v1/keys", a.Live, nil)
	expect(t, list, http.StatusOK)
	for _, k := range list.Body["data"].([]any) {
		if k.(map[string]any)["id"] == bKey {
			t.Fatal("tenant A lists tenant B's key")
		}
	}
	expectProblem(t, s.do("GET", "/v1/keys/"+bKey, a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/keys/"+bKey+"/rotate", a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("DELETE", "/v1/keys/"+bKey, a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/keys/not-an-id", a.Live, nil), http.StatusNotFound, "not_found", "")
	expect(t, s.do("GET", "/v1/tenant", b.Live, nil), http.StatusOK)
}

func TestEachEnvironmentSeesAndManagesOnlyItsOwnKeys(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ines@example.com")
	liveID := s.keyID(a.Live)
	sandboxID := s.keyID(a.Sandbox)

	for secret, want := range map[string]string{a.Sandbox: "sandbox", a.Live: "live"} {
		r := s.do("GET", "/v1/keys", secret, nil)
		expect(t, r, http.StatusOK)
		for _, k := range r.Body["data"].([]any) {
			if env := k.(map[string]any)["environment"]; env != want {
				t.Fatalf("a %s key lists a %s key", want, env)
			}
		}
	}
	expectProblem(t, s.do("POST", "/v1/keys/"+liveID+"/rotate", a.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("DELETE", "/v1/keys/"+sandboxID, a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/keys", a.Sandbox, map[string]string{"environment": "live"}), http.StatusForbidden, "forbidden", "")
	r := s.do("POST", "/v1/keys", a.Sandbox, map[string]string{"name": "tests"})
	expect(t, r, http.StatusCreated)
	if r.str("environment") != "sandbox" || !strings.HasPrefix(r.str("secret"), "rf_test_") {
		t.Fatalf("key made with a sandbox key: %s", r.Raw)
	}
}

func TestBadCredentialsAreUnauthenticatedProblems(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("joao@example.com")
	typo := []byte(a.Live)
	typo[12] ^= 1
	unknown, _ := keys.NewSecret(keys.Live)
	cases := map[string]string{
		"malformed":    "Bearer rf_live_short",
		"bad checksum": "Bearer " + string(typo),
		"not bearer":   "Basic " + a.Live,
		"unknown key":  "Bearer " + unknown,
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.base+"/v1/tenant", nil)
			req.Header.Set("Authorization", header)
			res, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d, type %q; want 401 problem+json", res.StatusCode, res.Header.Get("Content-Type"))
			}
		})
	}
	expectProblem(t, s.do("GET", "/v1/tenant", "", nil), http.StatusUnauthorized, "unauthenticated", "")
	expectProblem(t, s.do("GET", "/v1/keys", "rf_test_"+strings.Repeat("A", 36), nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestStrictJSONNamesTheField(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("kim@example.com")
	expectProblem(t, s.do("POST", "/v1/signup", "", `{"company_name":"X","email":"x@example.com","country":"FR","plan":"gold"}`),
		http.StatusBadRequest, "invalid_request", "plan")
	expectProblem(t, s.do("POST", "/v1/keys", a.Live, `{"name": 42}`), http.StatusBadRequest, "invalid_request", "name")
	expectProblem(t, s.do("POST", "/v1/keys", a.Live, `{"name":"a"} {"name":"b"}`), http.StatusBadRequest, "invalid_request", "body")
	expectProblem(t, s.do("POST", "/v1/keys", a.Live, `{"name":`), http.StatusBadRequest, "invalid_request", "body")
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	expectProblem(t, s.do("POST", "/v1/keys", a.Live, big), http.StatusBadRequest, "invalid_request", "body")
	expectProblem(t, s.do("POST", "/v1/keys/"+s.keyID(a.Live)+"/rotate", a.Live, `{"grace_period_seconds":"soon"}`),
		http.StatusBadRequest, "invalid_request", "grace_period_seconds")
}

func TestKeyListIsCursorPaginatedNewestFirst(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("lea@example.com")
	for i := 0; i < 4; i++ {
		expect(t, s.do("POST", "/v1/keys", a.Live, map[string]any{"name": "k"}), http.StatusCreated)
	}
	var seen []string
	after := ""
	for page := 0; page < 10; page++ {
		path := "/v1/keys?limit=2"
		if after != "" {
			path += "&starting_after=" + after
		}
		r := s.do("GET", path, a.Live, nil)
		expect(t, r, http.StatusOK)
		data := r.Body["data"].([]any)
		for _, k := range data {
			seen = append(seen, k.(map[string]any)["id"].(string))
		}
		if r.Body["has_more"] != true {
			break
		}
		after = seen[len(seen)-1]
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d keys, want 5 (4 made + the signup key)", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("keys not newest first: %v", seen)
		}
	}
	expectProblem(t, s.do("GET", "/v1/keys?limit=500", a.Live, nil), http.StatusBadRequest, "invalid_request", "limit")
}

func TestLastUsedIsRecordedWithoutAWritePerRequest(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_LAST_USED_FLUSH": "1h"})
	a := s.signup("mia@example.com")
	expect(t, s.do("GET", "/v1/tenant", a.Live, nil), http.StatusOK)
	r := s.do("GET", "/v1/keys", a.Live, nil)
	k := r.Body["data"].([]any)[0].(map[string]any)
	if k["last_used_at"] != epoch.Format(time.RFC3339) {
		t.Fatalf("last_used_at = %v, want %s", k["last_used_at"], epoch.Format(time.RFC3339))
	}
}
