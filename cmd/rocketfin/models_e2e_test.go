package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

func TestModelCardsDescribeEveryEmbeddedModel(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("mia@models.example")
	list := s.do("GET", "/v1/models", a.Sandbox, nil)
	expect(t, list, http.StatusOK)
	data := list.Body["data"].([]any)
	if len(data) != len(scoring.Versions()) || data[len(data)-1].(map[string]any)["version"] != scoring.ModelName {
		t.Fatalf("models %s, want every embedded version, the current one last", list.Raw)
	}
	card := s.do("GET", "/v1/models/"+scoring.ModelName, a.Live, nil)
	expect(t, card, http.StatusOK)
	if card.Body["current"] != true || card.str("intended_use") == "" || card.str("calibration", "anchor_source") == "" ||
		card.Body["validation"].(map[string]any)["grades_strictly_ordered"] != true || len(card.Body["master_scale"].([]any)) < 7 {
		t.Fatalf("current model card: %s", card.Raw)
	}
	for _, f := range card.Body["features"].([]any) {
		if d := f.(map[string]any)["direction"]; d != "risk_up" && d != "risk_down" {
			t.Errorf("feature %v: direction %v, want risk_up or risk_down", f, d)
		}
	}
	if old := s.do("GET", "/v1/models/rf-ebm-1.0.0", a.Sandbox, nil); old.Status != http.StatusOK || old.Body["current"] != false {
		t.Fatalf("first model card: %d %s", old.Status, old.Raw)
	}
	expectProblem(t, s.do("GET", "/v1/models/rf-ebm-9.9.9", a.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/models", "", nil), http.StatusUnauthorized, "unauthenticated", "")
}

// TestReplayGivesBackEverySandboxGolden scores every catalog company, in English and in French,
// then replays each decision: the answer is identical to the recorded one and to the company's
// golden file. Another tenant, or the other environment, finds nothing.
func TestReplayGivesBackEverySandboxGolden(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("rui@replay.example")
	s.unlimit(a.TenantID)
	for _, c := range sandbox.Companies() {
		s.consentFor(a.Sandbox, c.ID)
		r := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": c.ID}}, nil)
		expect(t, r, http.StatusOK)
		rep := s.do("POST", "/v1/scores/"+r.str("id")+"/replay", a.Sandbox, nil)
		expect(t, rep, http.StatusOK)
		if rep.Body["identical"] != true || rep.str("model_version") != scoring.ModelName || rep.str("language") != "en" {
			t.Fatalf("%s: replay %s", c.ID, rep.Raw)
		}
		golden := readGolden(t, scoring.ModelName, c.ID)
		if got := rep.Body["result"]; !reflect.DeepEqual(got, golden) {
			t.Errorf("%s: replayed result differs from its golden file\ngot  %v\nwant %v", c.ID, got, golden)
		}
		// the scoring fields are also at the top level, as the scoring call answered them
		for _, f := range []string{"score", "pd_12m", "grade", "recommendation", "credit_limit", "reasons", "justification", "data_quality"} {
			if !reflect.DeepEqual(rep.Body[f], r.Body[f]) {
				t.Errorf("%s: replay's %s is %v, the call answered %v", c.ID, f, rep.Body[f], r.Body[f])
			}
		}
	}
	fr := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}}, map[string]string{"Accept-Language": "fr-FR"})
	rep := s.doWith("POST", "/v1/scores/"+fr.str("id")+"/replay", a.Sandbox, nil, map[string]string{"Accept-Language": "pt"})
	if rep.Body["identical"] != true || rep.str("language") != "fr" || rep.str("result", "justification") != fr.str("justification") {
		t.Fatalf("French decision replayed: %s", rep.Raw)
	}
	other := s.signup("eve@replay.example")
	expectProblem(t, s.do("POST", "/v1/scores/"+fr.str("id")+"/replay", other.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/scores/"+fr.str("id")+"/replay", a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/scores/sc_nothing/replay", a.Sandbox, nil), http.StatusNotFound, "not_found", "")
	live := s.post(a.Live, liveBody(1), map[string]string{"Accept-Language": "pt-PT"})
	expect(t, live, http.StatusOK)
	for i := 0; i < 3; i++ {
		rep := s.do("POST", "/v1/scores/"+live.str("id")+"/replay", a.Live, nil)
		if rep.Body["identical"] != true || rep.str("language") != "pt" || rep.str("result", "justification") != live.str("justification") {
			t.Fatalf("live decision replayed: %s", rep.Raw)
		}
	}
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(4) {
		t.Fatalf("replays spent credits: %v left after one live call, want 4", r.Body["credits_remaining"])
	}
}

// TestReplayOfAFirstModelDecision replays decisions recorded by rf-ebm-1.0.0 before languages
// were kept (the records every tenant already has): each gives back its golden answer.
func TestReplayOfAFirstModelDecision(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ada@legacy.example")
	s.unlimit(a.TenantID)
	db, err := database.Open(context.Background(), database.Options{URL: s.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	for i, c := range sandbox.Companies() {
		req, _ := sandbox.Lookup(c.ID)
		input, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join("..", "..", "sandbox", "testdata", "rf-ebm-1.0.0", c.ID+".golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		var output bytes.Buffer
		if err := json.Compact(&output, raw); err != nil {
			t.Fatal(err)
		}
		id := ids.New(ids.Score)
		d := scores.Decision{ID: id, TenantID: a.TenantID, Environment: "sandbox", KeyID: "key_legacy", RequestID: "req_legacy",
			CompanyID: c.ID, ModelVersion: "rf-ebm-1.0.0", Input: string(input), InputSHA256: "legacy", Output: output.String(),
			AsOf: sandbox.EvaluationDate(), CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, i, time.UTC)}
		if err := db.Create(&d).Error; err != nil {
			t.Fatal(err)
		}
		rep := s.do("POST", "/v1/scores/"+id+"/replay", a.Sandbox, nil)
		expect(t, rep, http.StatusOK)
		if rep.Body["identical"] != true || rep.str("model_version") != "rf-ebm-1.0.0" || !reflect.DeepEqual(rep.Body["result"], readGolden(t, "rf-ebm-1.0.0", c.ID)) {
			t.Fatalf("%s: replay of the first model's decision: %s", c.ID, rep.Raw)
		}
	}
}

func readGolden(t *testing.T, version, id string) any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "sandbox", "testdata", version, id+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
