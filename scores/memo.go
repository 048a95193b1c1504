package scores

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/scoring"
)

// evaluated is a request with its engine result, encoded for the record.
type evaluated struct {
	req      scoring.Request
	meta     metadata.Metadata
	scopes   []string // consents the caller's own data needs
	result   scoring.Result
	input    string // the request as scored, JSON
	inputSHA string
	output   []byte // the result, JSON
}

// encode stores the result and the JSON the decision record keeps.
func (e *evaluated) encode(result scoring.Result) error {
	input, err := json.Marshal(&e.req)
	if err != nil {
		return fmt.Errorf("encode decision input: %w", err)
	}
	output, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode decision output: %w", err)
	}
	sum := sha256.Sum256(input)
	e.result, e.input, e.inputSHA, e.output = result, string(input), hex.EncodeToString(sum[:]), output
	return nil
}

// sandboxMemo remembers recent sandbox evaluations by body and language.
// Entries are never changed after they are stored, so callers share them.
type sandboxMemo struct {
	mu      sync.RWMutex
	entries map[string]*evaluated
}

const sandboxMemoMax = 4096

func newSandboxMemo() *sandboxMemo { return &sandboxMemo{entries: map[string]*evaluated{}} }

func sandboxMemoKey(body []byte, language string) string {
	h := sha256.New()
	h.Write(body)
	h.Write([]byte{0})
	h.Write([]byte(language))
	return string(h.Sum(nil))
}

func (m *sandboxMemo) get(key string) (*evaluated, bool) {
	if key == "" {
		return nil, false
	}
	m.mu.RLock()
	e, ok := m.entries[key]
	m.mu.RUnlock()
	return e, ok
}

func (m *sandboxMemo) put(key string, e *evaluated) {
	if key == "" {
		return
	}
	m.mu.Lock()
	if len(m.entries) >= sandboxMemoMax {
		m.entries = map[string]*evaluated{}
	}
	m.entries[key] = e
	m.mu.Unlock()
}
