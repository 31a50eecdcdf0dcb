package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Metrics are the Prometheus series the tool and its drills read, named as APISIX's
// prometheus plugin names them.
type Metrics struct {
	requests atomic.Uint64

	mu     sync.Mutex
	status map[statusKey]uint64

	connMu   sync.Mutex
	conns    map[net.Conn]http.ConnState
	accepted uint64

	// Version is the release the gateway plays (apisix_node_info's version label).
	Version string
}

type statusKey struct {
	code  int
	route string
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{status: map[statusKey]uint64{}, conns: map[net.Conn]http.ConnState{}}
}

// Observe counts one proxied (or refused) request.
func (m *Metrics) Observe(code int, route string) {
	m.requests.Add(1)
	m.mu.Lock()
	m.status[statusKey{code, route}]++
	m.mu.Unlock()
}

// Totals returns the request counters by class, for the periodic summary line.
func (m *Metrics) Totals() (total uint64, byClass [6]uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.status {
		if c := k.code / 100; c >= 1 && c <= 5 {
			byClass[c] += v
		}
	}
	return m.requests.Load(), byClass
}

// ConnState is the http.Server hook that feeds apisix_nginx_http_current_connections.
func (m *Metrics) ConnState(c net.Conn, st http.ConnState) {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	switch st {
	case http.StateNew:
		m.accepted++
		m.conns[c] = st
	case http.StateClosed, http.StateHijacked:
		delete(m.conns, c)
	default:
		m.conns[c] = st
	}
}

// Source is what the metrics page reads from the rest of the gateway.
type Source interface {
	Reachable() bool
	ModifyIndex() int64
	Revision() int64
	Routes() int
}

// Write renders the exposition text.
func (m *Metrics) Write(w io.Writer, src Source) {
	hostname, _ := os.Hostname()
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}

	gauge("apisix_etcd_modify_indexes", "Etcd modify index for APISIX keys")
	fmt.Fprintf(&b, "apisix_etcd_modify_indexes{key=\"routes\"} %d\n", src.ModifyIndex())
	fmt.Fprintf(&b, "apisix_etcd_modify_indexes{key=\"x_etcd_index\"} %d\n", src.Revision())

	gauge("apisix_etcd_reachable", "Config server etcd reachable from APISIX, 0 is unreachable")
	fmt.Fprintf(&b, "apisix_etcd_reachable %d\n", boolInt(src.Reachable()))

	b.WriteString("# HELP apisix_http_status HTTP status codes per service in APISIX\n# TYPE apisix_http_status counter\n")
	m.mu.Lock()
	keys := make([]statusKey, 0, len(m.status))
	for k := range m.status {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "apisix_http_status{code=\"%d\",route=%s} %d\n", k.code, strconv.Quote(k.route), m.status[k])
	}
	m.mu.Unlock()

	gauge("apisix_http_requests_total", "The total number of client requests since APISIX started")
	fmt.Fprintf(&b, "apisix_http_requests_total %d\n", m.requests.Load())

	m.connMu.Lock()
	var reading, writing, waiting int
	for _, st := range m.conns {
		switch st {
		case http.StateNew:
			reading++
		case http.StateActive:
			writing++
		case http.StateIdle:
			waiting++
		}
	}
	active, accepted := len(m.conns), m.accepted
	m.connMu.Unlock()
	gauge("apisix_nginx_http_current_connections", "Number of HTTP connections")
	for _, s := range []struct {
		state string
		v     uint64
	}{{"accepted", accepted}, {"active", uint64(active)}, {"handled", accepted}, {"reading", uint64(reading)}, {"waiting", uint64(waiting)}, {"writing", uint64(writing)}} {
		fmt.Fprintf(&b, "apisix_nginx_http_current_connections{state=%q} %d\n", s.state, s.v)
	}

	gauge("apisix_node_info", "Info of APISIX node")
	fmt.Fprintf(&b, "apisix_node_info{hostname=%s,version=%s} 1\n", strconv.Quote(hostname), strconv.Quote(m.Version))

	gauge("apisix_routes_loaded", "Routes held in memory by this gateway (stand-in)")
	fmt.Fprintf(&b, "apisix_routes_loaded %d\n", src.Routes())

	_, _ = io.WriteString(w, b.String())
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
