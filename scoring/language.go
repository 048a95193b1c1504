package scoring

import (
	"strconv"
	"strings"
)

// language is a language of texts: English, Portuguese or French.
type language int

const (
	langEN language = iota
	langPT
	langFR
	numLanguages
)

// pickLanguage reads "pt", "fr-FR" or an Accept-Language value such as "fr-CH, fr;q=0.9,
// en;q=0.8" and returns the supported language of highest quality, English by default.
func pickLanguage(header string) language {
	best, bestQ := langEN, -1.0
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			v, err := strconv.ParseFloat(p[2:], 64)
			if err != nil {
				continue
			}
			q = v
		}
		primary, _, _ := strings.Cut(tag, "-")
		l, ok := langEN, false
		switch {
		case strings.EqualFold(primary, "en"):
			l, ok = langEN, true
		case strings.EqualFold(primary, "pt"):
			l, ok = langPT, true
		case strings.EqualFold(primary, "fr"):
			l, ok = langFR, true
		}
		if ok && q > 0 && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

var languageCodes = [numLanguages]string{"en", "pt", "fr"}

// Language returns the code ("en", "pt" or "fr") of the language Evaluate picks for a language
// or Accept-Language value, so that a caller can record it and replay the same texts.
func Language(accept string) string { return languageCodes[pickLanguage(accept)] }

// Languages lists the codes of the supported languages, English first.
func Languages() []string { return languageCodes[:] }
