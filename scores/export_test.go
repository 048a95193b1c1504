package scores

// Waiting is how many calls wait for a charging transaction: queued, or in one that runs.
func Waiting(s *Service) int {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return s.groups.waiting
}

// Runners is how many charging transactions s runs at once.
func Runners(s *Service) int { return s.groups.runners }
