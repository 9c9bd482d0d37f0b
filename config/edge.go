package config

import (
	"flag"
	"fmt"
	"net"
	"strings"
)

// defaultAllowedHosts are accepted, with the host of --listen, when
// --allowed-hosts is empty.
var defaultAllowedHosts = []string{"localhost", "127.0.0.1", "::1"}

func (c *Config) bindEdge(fs *flag.FlagSet) {
	fs.StringVar(&c.AllowedHosts, "allowed-hosts", c.AllowedHosts, "comma-separated Host values (name or name:port) URLs may be built from when --base-url is empty; others are answered 421 (default: the --listen host, localhost, 127.0.0.1, ::1)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated CIDRs of the proxies whose X-Forwarded-For, -Proto and -Host headers are believed (default: none)")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "requests a second each SCIM, admin or agent token may make, per replica; over it 429 with Retry-After (0: off)")
	fs.IntVar(&c.RateLimitBurst, "rate-limit-burst", c.RateLimitBurst, "requests a token may make at once before --rate-limit applies (0: one second's worth)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "deadline of every request; an agent waiting for a seat gets --max-wait more")
}

func (e Edge) validate() []error {
	var errs []error
	for _, h := range list(e.AllowedHosts) {
		if strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("allowed-hosts %q must be a host name or host:port", h))
		}
	}
	if _, err := e.TrustedProxyNets(); err != nil {
		errs = append(errs, err)
	}
	if e.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate-limit %v must not be negative", e.RateLimit))
	}
	if e.RateLimitBurst < 0 {
		errs = append(errs, fmt.Errorf("rate-limit-burst %d must not be negative", e.RateLimitBurst))
	}
	if e.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("write-timeout %s must be positive", e.WriteTimeout))
	}
	return errs
}

// list splits a comma-separated setting, dropping empty items.
func list(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// AllowedHostList returns the hosts a request's Host may name: the
// configured ones, or by default the host of listen (unless it is empty or
// unspecified) and the local names.
func (e Edge) AllowedHostList(listen string) []string {
	if hosts := list(e.AllowedHosts); len(hosts) > 0 {
		return hosts
	}
	hosts := append([]string(nil), defaultAllowedHosts...)
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, host)
		}
	}
	return hosts
}

// TrustedProxyNets parses TrustedProxies; a bare address is a network of
// its own.
func (e Edge) TrustedProxyNets() ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, item := range list(e.TrustedProxies) {
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("trusted-proxies %q must be a CIDR (10.0.0.0/8) or an IP address", item)
			}
			bits := 8 * net.IPv6len
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 8*net.IPv4len
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies %q must be a CIDR (10.0.0.0/8) or an IP address", item)
		}
		nets = append(nets, n)
	}
	return nets, nil
}
