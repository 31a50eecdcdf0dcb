// Package route parses and validates APISIX-shaped route objects, shared by the dashboard
// (which validates what it stores) and the gateway (which compiles what it loads).
package route

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Node is one upstream target.
type Node struct {
	Addr   string // host:port
	Weight int
}

// Upstream is the inline upstream of a route.
type Upstream struct {
	Type     string `json:"type"`
	Scheme   string `json:"scheme"`
	PassHost string `json:"pass_host"`
	// UpstreamHost is the Host sent when pass_host is "rewrite".
	UpstreamHost string          `json:"upstream_host"`
	RawNodes     json.RawMessage `json:"nodes"`
	Nodes        []Node          `json:"-"`
}

// Route is the subset of an APISIX route the stand-ins act on. Unknown fields (plugins,
// labels, ...) are kept by the dashboard as stored JSON; the gateway ignores them.
type Route struct {
	ID       json.RawMessage `json:"id"`
	Name     string          `json:"name"`
	URI      string          `json:"uri"`
	URIs     []string        `json:"uris"`
	Host     string          `json:"host"`
	Hosts    []string        `json:"hosts"`
	Methods  []string        `json:"methods"`
	Priority int             `json:"priority"`
	Status   *int            `json:"status"`
	Upstream *Upstream       `json:"upstream"`
}

var validMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true,
	"OPTIONS": true, "CONNECT": true, "TRACE": true, "PURGE": true,
}

// Parse decodes and validates a route body; the error text is what the dashboard returns
// with 400.
func Parse(data []byte) (*Route, error) {
	var r Route
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("invalid route JSON: %v", err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// IDString returns the id as a string whether it was stored as "1" or 1.
func (r *Route) IDString() string {
	s := strings.TrimSpace(string(r.ID))
	if s == "" || s == "null" {
		return ""
	}
	var str string
	if json.Unmarshal(r.ID, &str) == nil {
		return str
	}
	return s
}

// AllURIs returns uri and uris together.
func (r *Route) AllURIs() []string {
	out := append([]string(nil), r.URIs...)
	if r.URI != "" {
		out = append([]string{r.URI}, out...)
	}
	return out
}

// AllHosts returns host and hosts together.
func (r *Route) AllHosts() []string {
	out := append([]string(nil), r.Hosts...)
	if r.Host != "" {
		out = append([]string{r.Host}, out...)
	}
	return out
}

// Enabled is false only for "status": 0 (APISIX's way of switching a route off).
func (r *Route) Enabled() bool { return r.Status == nil || *r.Status != 0 }

func (r *Route) validate() error {
	if r.URI == "" && len(r.URIs) == 0 {
		return errors.New(`invalid route: "uri" is required`)
	}
	if r.URI != "" && len(r.URIs) > 0 {
		return errors.New(`invalid route: give "uri" or "uris", not both`)
	}
	for _, u := range r.AllURIs() {
		if !strings.HasPrefix(u, "/") {
			return fmt.Errorf(`invalid route: uri %q must start with "/"`, u)
		}
	}
	if r.Host != "" && len(r.Hosts) > 0 {
		return errors.New(`invalid route: give "host" or "hosts", not both`)
	}
	for _, h := range r.AllHosts() {
		if h == "" || strings.ContainsAny(h, " /") {
			return fmt.Errorf("invalid route: host %q is not a host name", h)
		}
	}
	for _, m := range r.Methods {
		if !validMethods[m] {
			return fmt.Errorf("invalid route: method %q is not one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE, PURGE", m)
		}
	}
	if r.Status != nil && *r.Status != 0 && *r.Status != 1 {
		return errors.New(`invalid route: "status" must be 0 or 1`)
	}
	if r.Upstream == nil {
		return errors.New(`invalid route: "upstream" is required (with "nodes")`)
	}
	defaultPort := "80"
	if r.Upstream.Scheme == "https" {
		defaultPort = "443"
	}
	nodes, err := parseNodes(r.Upstream.RawNodes, defaultPort)
	if err != nil {
		return err
	}
	r.Upstream.Nodes = nodes
	switch r.Upstream.Type {
	case "", "roundrobin", "chash", "ewma", "least_conn":
	default:
		return fmt.Errorf("invalid route: upstream.type %q is not roundrobin, chash, ewma or least_conn", r.Upstream.Type)
	}
	switch r.Upstream.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("invalid route: upstream.scheme %q is not http or https", r.Upstream.Scheme)
	}
	switch r.Upstream.PassHost {
	case "", "pass", "node":
	case "rewrite":
		if r.Upstream.UpstreamHost == "" {
			return errors.New(`invalid route: pass_host "rewrite" needs upstream_host`)
		}
	default:
		return fmt.Errorf("invalid route: upstream.pass_host %q is not pass, node or rewrite", r.Upstream.PassHost)
	}
	return nil
}

// parseNodes accepts both APISIX forms: {"10.0.0.1:80": 1} and
// [{"host": "10.0.0.1", "port": 80, "weight": 1}].
func parseNodes(raw json.RawMessage, defaultPort string) ([]Node, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New(`invalid route: upstream.nodes is required`)
	}
	var nodes []Node
	if raw[0] == '{' {
		var m map[string]json.Number
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("invalid route: upstream.nodes: %v", err)
		}
		for addr, w := range m {
			weight, err := strconv.Atoi(w.String())
			if err != nil {
				return nil, fmt.Errorf("invalid route: upstream.nodes[%q]: weight %s is not an integer", addr, w)
			}
			nodes = append(nodes, Node{Addr: addr, Weight: weight})
		}
		// Map order is random; keep round robin deterministic.
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].Addr < nodes[j].Addr })
	} else {
		var list []struct {
			Host   string `json:"host"`
			Port   int    `json:"port"`
			Weight *int   `json:"weight"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("invalid route: upstream.nodes: %v", err)
		}
		for _, n := range list {
			w := 1
			if n.Weight != nil {
				w = *n.Weight
			}
			addr := n.Host
			if n.Port != 0 {
				addr = net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
			}
			nodes = append(nodes, Node{Addr: addr, Weight: w})
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New(`invalid route: upstream.nodes must not be empty`)
	}
	for i, n := range nodes {
		if n.Weight < 0 {
			return nil, fmt.Errorf("invalid route: upstream node %s: weight must be >= 0", n.Addr)
		}
		host, port, err := net.SplitHostPort(n.Addr)
		if err != nil {
			// APISIX allows a node without a port: 80, or 443 for https.
			if strings.Contains(err.Error(), "missing port") && n.Addr != "" {
				nodes[i].Addr = net.JoinHostPort(n.Addr, defaultPort)
				continue
			}
			return nil, fmt.Errorf("invalid route: upstream node %q is not host:port", n.Addr)
		}
		if host == "" {
			return nil, fmt.Errorf("invalid route: upstream node %q has no host", n.Addr)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("invalid route: upstream node %q has no valid port", n.Addr)
		}
	}
	return nodes, nil
}
