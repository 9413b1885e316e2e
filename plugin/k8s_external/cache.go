package external

// CacheBypassZones implements the cache plugin's ZoneBypasser: when the
// backend answers each client its own (clusterdns under its visibility
// option answers a pod only the namespaces it may see), the server block's
// cache neither answers nor stores names of the external zones, whatever
// its Corefile says: its key is the question, not the client, so it would
// give one client's answer to another. The cache asks in its OnStartup,
// maybe before this plugin's has found the backend, so it is looked up
// here.
func (e *External) CacheBypassZones() []string {
	if b, ok := e.config.Handler(backendName).(perClient); ok && b.ExternalPerClient() {
		return e.Zones
	}
	return nil
}

// perClient is offered by a backend whose answers may depend on who asks.
type perClient interface {
	// ExternalPerClient tells whether they do.
	ExternalPerClient() bool
}
