package status

// Paths are the path prefixes the status page is served under on a core
// node; the node's router sends these to Handler.
var Paths = []string{
	"/status", "/status/", "/history.atom", "/api/v2/",
	"/api/v1/component-groups/",
	"/api/v1/banner", "/api/v1/unsubscribe/",
	"/api/v1/incidents", "/api/v1/incidents/",
	"/api/v1/subscribers", "/api/v1/subscribers/",
	"/api/v1/subscriptions", "/api/v1/subscriptions/",
	"/api/v1/maintenances", "/api/v1/maintenances/",
	"/api/v1/deliveries",
}
