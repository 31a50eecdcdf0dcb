package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

type ctxKey struct{}

// target is what the matcher decided for one request, carried to the transport.
type target struct {
	route *compiled
	nodes []string // round-robin pick first, then the fallbacks
}

// Proxy matches requests against the table and forwards them upstream.
type Proxy struct {
	table   *Table
	metrics *Metrics
	rp      *httputil.ReverseProxy
	logf    func(string, ...any)
	access  bool
}

// NewProxy builds the proxy. access turns on one log line per request.
func NewProxy(t *Table, m *Metrics, logf func(string, ...any), access bool) *Proxy {
	p := &Proxy{table: t, metrics: m, logf: logf, access: access}
	base := &http.Transport{
		Proxy:                 nil, // never honour HTTP_PROXY: upstreams are addresses in the lab
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		// Pass Accept-Encoding through untouched, as nginx does (no gzip added on our own).
		DisableCompression: true,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   rewrite,
		Transport: &failover{base: base},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logf("[error] upstream for %s %s%s: %v", r.Method, r.Host, r.URL.Path, err)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")
		},
	}
	return p
}

// rewrite sets the upstream address and the forwarding headers nginx/APISIX add.
func rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(ctxKey{}).(*target)
	up := t.route.upstream
	pr.Out.URL.Scheme = "http"
	if up.Scheme == "https" {
		pr.Out.URL.Scheme = "https"
	}
	pr.Out.URL.Host = t.nodes[0]
	switch up.PassHost {
	case "node":
		pr.Out.Host = ""
	case "rewrite":
		pr.Out.Host = up.UpstreamHost
	default: // "pass": the client's Host, as in the runbook's echo ("url": "http://test.com/get")
		pr.Out.Host = pr.In.Host
	}
	pr.SetXForwarded() // X-Forwarded-For (appended), X-Forwarded-Host, X-Forwarded-Proto
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		pr.Out.Header.Set("X-Real-IP", ip)
	}
}

// failover tries the next node when a node refuses or does not answer the connection;
// any later error (the request reached the node) is final, as a retry could repeat a write.
type failover struct{ base http.RoundTripper }

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	t := req.Context().Value(ctxKey{}).(*target)
	// The transport closes the body on a dial error; hand it a non-closing view so the next
	// node can still read it (nothing was read: the connection never existed). The server
	// closes the inbound body itself when the handler returns.
	body := req.Body
	var lastErr error
	for i, node := range t.nodes {
		r := req
		if i > 0 {
			r = req.Clone(req.Context())
			r.URL.Host = node
			if t.route.upstream.PassHost == "node" {
				r.Host = ""
			}
		}
		if body != nil && body != http.NoBody {
			r.Body = io.NopCloser(body)
		}
		resp, err := f.base.RoundTrip(r)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return nil, err
		}
	}
	return nil, lastErr
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	rt := p.table.Match(r.Host, r.URL.Path, r.Method)
	routeID := ""
	switch {
	case rt == nil:
		writeJSON(rec, http.StatusNotFound, `{"error_msg":"404 Route Not Found"}`)
	default:
		routeID = rt.id
		nodes := rt.lb.order()
		if len(nodes) == 0 {
			writeJSON(rec, http.StatusServiceUnavailable, `{"error_msg":"no valid upstream node"}`)
			break
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, &target{route: rt, nodes: nodes})
		p.rp.ServeHTTP(rec, r.WithContext(ctx))
	}
	p.metrics.Observe(rec.status, routeID)
	if p.access {
		p.logf("%s - %s %s %s %d %s route=%s", r.RemoteAddr, r.Method, r.Host, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Millisecond), routeID)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}

// statusRecorder remembers the status for metrics; Unwrap keeps Flush and friends working
// through http.ResponseController (the reverse proxy streams with it).
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
