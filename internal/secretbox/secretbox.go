// Package secretbox encrypts what RocketFin must keep secret at rest and read back (the private
// signing keys of OAuth2 access tokens): AES-256-GCM under a key from ROCKETFIN_SECRET_KEY, or,
// for the embedded default, a key generated once into the data folder. Every sealed value is bound
// to a purpose (additional data), so a value sealed for one use cannot be opened as another.
//
// ROCKETFIN_SECRET_KEY is 32 random bytes, base64 (standard alphabet, padded): for example the
// output of `openssl rand -base64 32` or `head -c 32 /dev/urandom | base64`. Every replica needs the
// same key; losing it loses what it sealed.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated key in the data folder.
const KeyFile = "secret.key"

// Box seals and opens values.
type Box struct{ aead cipher.AEAD }

// Parse reads a key as ROCKETFIN_SECRET_KEY writes it.
func Parse(encoded string) (*Box, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil || len(key) != 32 {
		return nil, errors.New("ROCKETFIN_SECRET_KEY: want 32 random bytes in base64 (openssl rand -base64 32)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// LoadOrCreate reads the key file of dir, creating it (readable by its owner only) with a fresh
// key when there is none; created says it was made now, so that the caller logs it.
func LoadOrCreate(dir string) (box *Box, created bool, err error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var key [32]byte
		if _, err := rand.Read(key[:]); err != nil {
			return nil, false, fmt.Errorf("draw a secret key: %w", err)
		}
		encoded := base64.StdEncoding.EncodeToString(key[:])
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("create %s: %w", dir, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create %s: %w", path, err)
		}
		if _, err := f.WriteString(encoded + "\n"); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, false, fmt.Errorf("write %s: %w", path, err)
		}
		box, err := Parse(encoded)
		return box, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	box, err = Parse(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return box, false, nil
}

// Seal encrypts plain for purpose; the result is base64 text, safe to store in a text column.
func (b *Box) Seal(purpose string, plain []byte) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("draw a nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal made for the same purpose; a value altered, sealed under another key
// or for another purpose is an error.
func (b *Box) Open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return nil, errors.New("open sealed value: not a sealed value")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return nil, errors.New("open sealed value: wrong key or purpose, or altered")
	}
	return plain, nil
}
