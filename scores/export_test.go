package scores

import "github.com/rocketfin/rocketfin/keys"

// Queued is how many calls of a tenant and environment wait for a charging transaction.
func Queued(s *Service, tenantID string, env keys.Environment) int {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return len(s.groups.queues[tenantID+"/"+string(env)])
}
