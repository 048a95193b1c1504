package scoring

import (
	"fmt"
	"slices"
	"sync"
)

// Library holds one engine per embedded model version, each loaded on first use and then shared:
// the current one scores new calls, the earlier ones replay the decisions they made. The zero
// value is ready to use and safe for concurrent use.
type Library struct {
	mu      sync.Mutex
	engines map[string]*Engine
}

// ErrUnknownModel is returned for a version that is not embedded.
var ErrUnknownModel = fmt.Errorf("scoring: unknown model version")

// Engine returns the engine of an embedded model version.
func (l *Library) Engine(version string) (*Engine, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.engines[version]; ok {
		return e, nil
	}
	if !slices.Contains(Versions(), version) {
		return nil, fmt.Errorf("%w %q", ErrUnknownModel, version)
	}
	e, err := NewVersion(version)
	if err != nil {
		return nil, err
	}
	if l.engines == nil {
		l.engines = map[string]*Engine{}
	}
	l.engines[version] = e
	return e, nil
}
