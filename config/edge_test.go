package config

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEdgeFlags(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.BindServe(fs)
	env := map[string]string{"SCIMD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}
	err := Parse(fs, []string{"--allowed-hosts", "scim.example.com,Scim.Example.com:8443", "--rate-limit", "2.5",
		"--rate-limit-burst", "10", "--write-timeout", "45s"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.AllowedHostList(":8080"); !slices.Equal(got, []string{"scim.example.com", "Scim.Example.com:8443"}) {
		t.Errorf("allowed hosts %v", got)
	}
	nets, err := c.TrustedProxyNets()
	if err != nil || len(nets) != 2 || nets[0].String() != "10.0.0.0/8" || nets[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted proxies %v %v", nets, err)
	}
	if c.RateLimit != 2.5 || c.RateLimitBurst != 10 || c.WriteTimeout != 45*time.Second {
		t.Errorf("rate limit %v burst %d write timeout %v", c.RateLimit, c.RateLimitBurst, c.WriteTimeout)
	}
}

func TestEdgeDefaults(t *testing.T) {
	c := Default()
	if c.RateLimit != 0 || c.WriteTimeout != 30*time.Second || c.TrustedProxies != "" {
		t.Errorf("defaults: rate limit %v, write timeout %v, trusted proxies %q", c.RateLimit, c.WriteTimeout, c.TrustedProxies)
	}
	for listen, want := range map[string][]string{
		":8080":           {"localhost", "127.0.0.1", "::1"},
		"0.0.0.0:8080":    {"localhost", "127.0.0.1", "::1"},
		"10.1.2.3:8080":   {"localhost", "127.0.0.1", "::1", "10.1.2.3"},
		"scim.lan:8080":   {"localhost", "127.0.0.1", "::1", "scim.lan"},
		"[2001:db8::1]:0": {"localhost", "127.0.0.1", "::1", "2001:db8::1"},
	} {
		if got := c.AllowedHostList(listen); !slices.Equal(got, want) {
			t.Errorf("listen %s: allowed hosts %v, want %v", listen, got, want)
		}
	}
}

func TestValidateEdge(t *testing.T) {
	c := Default()
	c.TrustedProxies = "10.0.0.0/33,proxy.lan"
	c.AllowedHosts = "https://scim.example.com/"
	c.RateLimit = -1
	c.RateLimitBurst = -1
	c.WriteTimeout = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken edge")
	}
	for _, want := range []string{"trusted-proxies", "allowed-hosts", "rate-limit ", "rate-limit-burst", "write-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
}
