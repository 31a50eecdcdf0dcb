// Package build is which release of the vendor's image a stand-in plays: its version (the image
// sets STANDIN_VERSION, as the vendor's build bakes it in) and, for the lab's deliberately broken
// releases, its defect (STANDIN_DEFECT). The version is reported the way the real products do it:
// a Server header on every response and a build-info metric, so a probe can tell which build
// served it.
package build

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Defects the lab's broken releases carry.
const (
	// Unhealthy: starts, but every request (proxy, metrics, /ping) answers 503: fails its health check.
	Unhealthy = "unhealthy"
	// EtcdMemberLoss: healthy while every etcd member answers; stops serving (503) while any one is
	// down. Passes a health check, fails a node-loss drill.
	EtcdMemberLoss = "etcd-member-loss"
)

// Release is the build a process plays.
type Release struct {
	Version string
	Defect  string
	// degraded is set while an etcd member is unreachable (EtcdMemberLoss only).
	degraded atomic.Bool
}

// FromEnv reads STANDIN_VERSION (default: fallback) and STANDIN_DEFECT.
func FromEnv(fallback string) *Release {
	v := os.Getenv("STANDIN_VERSION")
	if v == "" {
		v = fallback
	}
	return &Release{Version: v, Defect: os.Getenv("STANDIN_DEFECT")}
}

// Wrap sets the Server header (product/version) and plays the defect.
func (r *Release) Wrap(product string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Server", product+"/"+r.Version)
		if r.Defect == Unhealthy || (r.Defect == EtcdMemberLoss && r.degraded.Load()) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error_msg":"` + product + ` ` + r.Version + `: unavailable (` + r.Defect + `)"}` + "\n"))
			return
		}
		h.ServeHTTP(w, req)
	})
}

// Watch plays EtcdMemberLoss: every 200 ms it dials each etcd endpoint; any one refusing marks the
// process degraded until all answer again. A no-op for other releases.
func (r *Release) Watch(endpoints []string, done <-chan struct{}) {
	if r.Defect != EtcdMemberLoss {
		return
	}
	addrs := make([]string, 0, len(endpoints))
	for _, e := range endpoints {
		if u, err := url.Parse(e); err == nil && u.Host != "" {
			addrs = append(addrs, u.Host)
		} else {
			addrs = append(addrs, strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "https://"))
		}
	}
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			down := false
			for _, a := range addrs {
				c, err := net.DialTimeout("tcp", a, 300*time.Millisecond)
				if err != nil {
					down = true
					continue
				}
				_ = c.Close()
			}
			r.degraded.Store(down)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
}
