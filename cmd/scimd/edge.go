package main

import (
	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/server"
)

// edgeOptions returns the server's trust boundary as configured (Validate
// has checked the proxies parse).
func edgeOptions(cfg config.Config) server.Edge {
	proxies, _ := cfg.TrustedProxyNets()
	return server.Edge{
		BaseURL:        cfg.BaseURL,
		AllowedHosts:   cfg.AllowedHostList(cfg.Listen),
		TrustedProxies: proxies,
		RateLimit:      cfg.RateLimit,
		RateLimitBurst: cfg.RateLimitBurst,
		WriteTimeout:   cfg.WriteTimeout,
		MaxWait:        cfg.MaxWait,
	}
}
