package secretbox

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealedValuesOpenOnlyWithTheirKeyAndPurpose(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	b, err := Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal("signing-key", []byte("private"))
	if err != nil || strings.Contains(sealed, "private") {
		t.Fatalf("sealed %q %v", sealed, err)
	}
	if again, _ := b.Seal("signing-key", []byte("private")); again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if plain, err := b.Open("signing-key", sealed); err != nil || string(plain) != "private" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := b.Open("other-purpose", sealed); err == nil {
		t.Fatal("opened for another purpose")
	}
	other, _ := Parse(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("o", 32))))
	if _, err := other.Open("signing-key", sealed); err == nil {
		t.Fatal("opened with another key")
	}
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	if _, err := b.Open("signing-key", base64.StdEncoding.EncodeToString(raw)); err == nil {
		t.Fatal("opened an altered value")
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString([]byte("16 bytes only!!!"))} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "ROCKETFIN_SECRET_KEY") {
			t.Errorf("key %q: %v", bad, err)
		}
	}
}

func TestTheEmbeddedDefaultKeepsItsKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	sealed, _ := first.Seal("p", []byte("v"))
	again, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second start: %v %v", created, err)
	}
	if plain, err := again.Open("p", sealed); err != nil || string(plain) != "v" {
		t.Fatalf("the key changed between starts: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v, want 0600", info.Mode(), err)
	}
}
