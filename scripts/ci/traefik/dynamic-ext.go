// Package ext stands in for Traefik's nested module github.com/traefik/traefik/dynamic/ext, which is
// neither in Traefik's module zip nor served by the Go module proxy. Upstream it adds fields for
// Traefik's commercial edition to the dynamic configuration; the open-source build leaves them empty.
package ext

// HTTP is inlined into dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is inlined into dynamic.Router.
type Router struct{}
