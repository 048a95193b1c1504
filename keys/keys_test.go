package keys

import (
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/problem"
)

func TestNewSecretHasPrefixLengthAndValidChecksum(t *testing.T) {
	seen := map[string]bool{}
	for _, env := range []Environment{Sandbox, Live} {
		for i := 0; i < 200; i++ {
			s, err := NewSecret(env)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, env.SecretPrefix()) || len(s) != SecretLen {
				t.Fatalf("secret %q: want prefix %s and length %d", s, env.SecretPrefix(), SecretLen)
			}
			got, err := ParseSecret(s)
			if err != nil || got != env {
				t.Fatalf("ParseSecret(%q) = %v, %v; want %s", s, got, err, env)
			}
			if seen[s] {
				t.Fatalf("secret drawn twice: %s", s)
			}
			seen[s] = true
		}
	}
}

func TestParseSecretRefusesMistypedKeys(t *testing.T) {
	good, _ := NewSecret(Live)
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":               "",
		"wrong prefix":        "sk_live_" + good[8:],
		"truncated":           good[:len(good)-1],
		"one character typed": flip(15),
		"checksum typed":      flip(len(good) - 2),
		"foreign character":   good[:20] + "-" + good[21:],
	}
	for name, s := range cases {
		_, err := ParseSecret(s)
		if problem.CodeOf(err) != problem.Unauthenticated {
			t.Errorf("%s: ParseSecret(%q) = %v, want unauthenticated", name, s, err)
		}
	}
}
