package scoring

import "testing"

// TestEveryModelHasACard: each embedded version has its prose, and its card lists exactly its
// shapes with their directions and reason codes.
func TestEveryModelHasACard(t *testing.T) {
	var lib Library
	for _, v := range Versions() {
		e, err := lib.Engine(v)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Card()
		if _, ok := cards[v]; !ok || c.Summary == "" || c.PDMeaning == "" || len(c.Limitations) == 0 {
			t.Errorf("%s: card %+v, want its prose", v, c)
		}
		if c.Current != (v == ModelName) || len(c.Features) != len(e.model.Shapes) || len(c.MasterScale) < 7 {
			t.Errorf("%s: current %v, %d features for %d shapes, %d grades", v, c.Current, len(c.Features), len(e.model.Shapes), len(c.MasterScale))
		}
		for _, f := range c.Features {
			if f.Definition == "" || f.ReasonCode == "" || (e.model.Rules >= 2 && f.Direction == "free") {
				t.Errorf("%s: feature %+v, want a definition, a reason code and (rules 2) a direction", v, f)
			}
		}
	}
	if _, err := lib.Engine("rf-ebm-0.9.0"); err == nil {
		t.Error("an unknown version loaded")
	}
	if v := Versions(); len(v) < 2 || v[len(v)-1] != ModelName {
		t.Errorf("versions %v, want the current model last", v)
	}
}
