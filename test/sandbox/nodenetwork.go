package sandbox

// NodeNetwork implements NodeNetworks: the namespace and address of the
// real node a server runs, while it runs.
func (s *Sandbox) NodeNetwork(serverID int64) (nsPath, ip string, ok bool) {
	s.mu.Lock()
	m := s.machines[serverID]
	s.mu.Unlock()
	if m == nil {
		return "", "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.real == nil {
		return "", "", false
	}
	return netnsPath(m.real.netns), m.real.ip, true
}
