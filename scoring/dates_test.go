package scoring

import (
	"testing"
	"time"
)

func TestDateParsingMatchesTheStandardLibrary(t *testing.T) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "2025-04-31", "2025-12-31", "2025-00-10", "2025-1-01",
		"20250101", "2025-01-01T", "0000-01-01", "2100-02-29", "2000-02-29", "2025-07-31", "2025-06-31", "abcd-ef-gh"} {
		want, err := time.Parse(dateLayout, s)
		got, ok := parseDate(s)
		if ok != (err == nil) || (ok && !got.Equal(want)) {
			t.Errorf("parseDate(%q) = %v, %v; time.Parse = %v, %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"2025-01", "2025-13", "2025-00", "2025-1", "202501", "2025-012"} {
		want, err := time.Parse(monthLayout, s)
		got, ok := parseMonth(s)
		if ok != (err == nil) || (ok && !got.Equal(want)) {
			t.Errorf("parseMonth(%q) = %v, %v; time.Parse = %v, %v", s, got, ok, want, err)
		}
	}
}
