package httpx

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/problem"
)

type strictLine struct {
	Cash  float64 `json:"cash"`
	Count *int32  `json:"count"`
}

type strictEmbedded struct {
	Note string `json:"note"`
}

type strictBody struct {
	strictEmbedded
	Name      string            `json:"name"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Lines     []strictLine      `json:"lines"`
	Tags      map[string]string `json:"tags"`
	Raw       json.RawMessage   `json:"raw"`
	Flag      bool              `json:"flag"`
	Any       any               `json:"any"`
}

func TestStrictDecodingNamesTheFieldAndTheType(t *testing.T) {
	cases := []struct{ body, field, says string }{
		{`null`, "body", "must be a JSON object, not null"},
		{`[]`, "body", "must be a JSON object, not an array"},
		{`"x"`, "body", "must be a JSON object, not a string"},
		{`{"name":"a","name":"b"}`, "name", "appears twice"},
		{`{"tags":{"k":"1","k":"2"}}`, "tags.k", "appears twice"},
		{`{"Name":"a"}`, "Name", `did you mean "name"`},
		{`{"name":"a","NAME":"b"}`, "NAME", `did you mean "name"`},
		{`{"lines":[{"cash":1},{"Cash":2}]}`, "lines[1].Cash", `did you mean "cash"`},
		{`{"lines":[{"bogus":1}]}`, "lines[0].bogus", "is not a known field"},
		{`{"expires_at":"tomorrow"}`, "expires_at", "must be an RFC 3339 time"},
		{`{"expires_at":17}`, "expires_at", "must be an RFC 3339 time"},
		{`{"lines":{"cash":1}}`, "lines", "must be an array, not an object"},
		{`{"lines":[{"cash":"1"}]}`, "lines[0].cash", "must be a number, not a string"},
		{`{"lines":[{"count":1.5}]}`, "lines[0].count", "must be an integer"},
		{`{"lines":[{"count":4294967296}]}`, "lines[0].count", "at most 32 bits"},
		{`{"flag":"true"}`, "flag", "must be a boolean, not a string"},
		{`{"name":{"first":"a"}}`, "name", "must be a string, not an object"},
		{`{"tags":[]}`, "tags", "must be an object, not an array"},
		{`{"note":1}`, "note", "must be a string, not a number"},
		{`{"raw":{"x":[1,{"y":1,"y":2}]}}`, "raw.x[1].y", "appears twice"},
		{`{"any":{"k":1,"k":2}}`, "any.k", "appears twice"},
	}
	for _, c := range cases {
		var dst strictBody
		err := DecodeBytes([]byte(c.body), &dst)
		pe := problem.As(err)
		if pe == nil || len(pe.Fields) != 1 || pe.Fields[0].Field != c.field || !strings.Contains(pe.Fields[0].Message, c.says) {
			t.Errorf("%s: %v, want %s: …%s…", c.body, err, c.field, c.says)
		}
	}
}

func TestStrictDecodingAcceptsWhatIsWellFormed(t *testing.T) {
	body := `{"note":"n","name":"a","expires_at":"2027-01-31T23:59:59Z","lines":[{"cash":1.5,"count":null}],
		"tags":{"a":"1","A":"2"},"raw":{"x":[1,{"x":1,"y":2}]},"flag":false,"any":{"k":[1,"2"]}}`
	var dst strictBody
	if err := DecodeBytes([]byte(body), &dst); err != nil {
		t.Fatal(err)
	}
	if dst.Note != "n" || dst.Lines[0].Cash != 1.5 || dst.Tags["A"] != "2" || dst.ExpiresAt == nil {
		t.Fatalf("decoded %+v", dst)
	}
	// Syntax errors keep the decoder's position.
	err := DecodeBytes([]byte(`{"name": "a",}`), &dst)
	if pe := problem.As(err); pe == nil || !strings.Contains(pe.Detail, "malformed JSON at byte") {
		t.Fatalf("syntax error: %v", err)
	}
}

// FuzzDecodeBytes: no body makes strict decoding panic, and what it accepts encoding/json
// decodes the same way.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"lines":[{"cash":1,"count":2}],"tags":{"a\u0041":"1","aA":"2"}}`,
		`{"raw":[{"a":1},{"a":1}]}`, `null`, `{"Name":1}`, `{"any":{"x":[{"y":{}}]}}`, `{"n\"ame":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var strict, loose strictBody
		if err := DecodeBytes([]byte(body), &strict); err != nil {
			if problem.As(err) == nil {
				t.Fatalf("%q: %v is not a problem", body, err)
			}
			return
		}
		if err := json.Unmarshal([]byte(body), &loose); err != nil {
			t.Fatalf("%q accepted strictly, refused by encoding/json: %v", body, err)
		}
	})
}

func TestOutOfRangeNumbersSayWhatTheyAre(t *testing.T) {
	var dst strictBody
	err := DecodeBytes([]byte(`{"lines":[{"cash":1e400}]}`), &dst)
	pe := problem.As(err)
	if pe == nil || pe.Fields[0].Field != "lines[0].cash" || strings.Contains(pe.Detail, "not number") || !strings.Contains(pe.Detail, "1e400") {
		t.Fatalf("1e400: %v", err)
	}
	err = DecodeBytes([]byte(`{"note":"x","siret":"1"}`), &dst)
	if pe := problem.As(err); pe == nil || pe.Fields[0].Field != "siret" {
		t.Fatalf("unknown field: %v", err)
	}
}
