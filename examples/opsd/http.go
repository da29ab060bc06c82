package main

// extraRoutes mounts the feature packages' handlers (status pages, alert
// acknowledgement links) as they are wired.
func (d *daemon) extraRoutes() error { return nil }
