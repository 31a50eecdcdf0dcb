// Package dashboard is the stand-in for API7-Dashboard 2.13 / apisix-dashboard 3.0's
// manager-api: login with JWT, the route API stored in etcd, /ping for load balancers.
package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"time"

	"api7ha.local/standins/internal/build"
	"api7ha.local/standins/internal/conf"
	"api7ha.local/standins/internal/etcd"
	"api7ha.local/standins/internal/httpx"
	"api7ha.local/standins/internal/jwt"
	"api7ha.local/standins/internal/route"
)

// Versions printed in the banner, per flavor.
var versions = map[string]string{conf.FlavorAPI7: "2.13.2304", conf.FlavorAPISIX: "3.0.1"}

// handlerTimeout bounds every etcd-backed request: a dashboard must answer 503 rather than
// hang while etcd has no quorum.
const handlerTimeout = 6 * time.Second

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Server serves the manager-api.
type Server struct {
	cfg    *conf.Dashboard
	etcd   *etcd.Client
	now    func() time.Time
	log    *log.Logger
	allow  []netip.Prefix
	secret []byte
}

// New builds a server (it does not contact etcd).
func New(cfg *conf.Dashboard, logger *log.Logger) (*Server, error) {
	var tlsCfg *etcd.TLSFiles
	if cfg.Etcd.TLS != nil {
		tlsCfg = &etcd.TLSFiles{CertFile: cfg.Etcd.TLS.CertFile, KeyFile: cfg.Etcd.TLS.KeyFile, CAFile: cfg.Etcd.TLS.CAFile}
	}
	client, err := NewEtcdClient(cfg.Etcd, tlsCfg)
	if err != nil {
		return nil, err
	}
	allow, err := parseAllowList(cfg.AllowList)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, etcd: client, now: time.Now, log: logger, allow: allow, secret: []byte(cfg.Secret)}, nil
}

// NewEtcdClient builds the etcd client both stand-ins use from the normalized config.
func NewEtcdClient(e conf.Etcd, files *etcd.TLSFiles) (*etcd.Client, error) {
	cfg := etcd.Config{Endpoints: e.Endpoints, Username: e.Username, Password: e.Password}
	if files != nil {
		t, err := etcd.LoadTLS(*files)
		if err != nil {
			return nil, err
		}
		cfg.TLS = t
	}
	return etcd.New(cfg)
}

func parseAllowList(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("conf.allow_list: %q is neither an address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Handler returns the HTTP API for the configured flavor.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong")
	})
	if s.cfg.Flavor == conf.FlavorAPI7 {
		mux.HandleFunc("POST /api/user/login", s.login)
		mux.Handle("GET /api/clusters/{cid}/routes", s.auth(s.listRoutes))
		mux.Handle("POST /api/clusters/{cid}/routes", s.auth(s.createRoute))
		mux.Handle("GET /api/clusters/{cid}/routes/{id}", s.auth(s.getRoute))
		mux.Handle("PUT /api/clusters/{cid}/routes/{id}", s.auth(s.putRoute))
		mux.Handle("DELETE /api/clusters/{cid}/routes/{id}", s.auth(s.deleteRoute))
	} else {
		mux.HandleFunc("POST /apisix/admin/user/login", s.login)
		mux.Handle("GET /apisix/admin/routes", s.auth(s.listRoutes))
		mux.Handle("POST /apisix/admin/routes", s.auth(s.createRoute))
		mux.Handle("GET /apisix/admin/routes/{id}", s.auth(s.getRoute))
		mux.Handle("PUT /apisix/admin/routes/{id}", s.auth(s.putRoute))
		mux.Handle("DELETE /apisix/admin/routes/{id}", s.auth(s.deleteRoute))
	}
	return s.allowFilter(mux)
}

type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func reply(w http.ResponseWriter, status int, e envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// allowFilter enforces conf.allow_list like manager-api (403 for other clients); an absent
// list allows everyone.
func (s *Server) allowFilter(next http.Handler) http.Handler {
	if len(s.allow) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, err := netip.ParseAddr(host)
		if err == nil {
			a = a.Unmap()
			for _, p := range s.allow {
				if p.Contains(a) {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		reply(w, http.StatusForbidden, envelope{Code: 10403, Message: "IP address not allowed"})
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "invalid login body: " + err.Error()})
		return
	}
	want, ok := s.cfg.Users[body.Username]
	if !ok || body.Username == "" || want != body.Password {
		reply(w, http.StatusUnauthorized, envelope{Code: 10001, Message: "username or password error"})
		return
	}
	token := jwt.Issue(s.secret, body.Username, s.now(), time.Duration(s.cfg.ExpireTime)*time.Second)
	reply(w, http.StatusOK, envelope{Data: map[string]string{"token": token}})
}

func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := jwt.Verify(s.secret, r.Header.Get("Authorization"), s.now()); err != nil {
			reply(w, http.StatusUnauthorized, envelope{Code: 10401, Message: "unauthorized"})
			return
		}
		h(w, r)
	})
}

// routesPrefix is where routes of this request live: {prefix}/{cid}/routes/ (api7) or
// {prefix}/routes/ (apisix). The gateway of cluster cid uses prefix {prefix}/{cid}.
func (s *Server) routesPrefix(r *http.Request) (string, bool) {
	if s.cfg.Flavor == conf.FlavorAPI7 {
		cid := r.PathValue("cid")
		if !idPattern.MatchString(cid) {
			return "", false
		}
		return s.cfg.Etcd.Prefix + "/" + cid + "/routes/", true
	}
	return s.cfg.Etcd.Prefix + "/routes/", true
}

func (s *Server) etcdFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Printf("[warn] %s %s: etcd: %v", r.Method, r.URL.Path, err)
	reply(w, http.StatusServiceUnavailable, envelope{Code: 10503, Message: "etcd: " + err.Error()})
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) {
	prefix, ok := s.routesPrefix(r)
	if !ok {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "invalid cluster id"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
	defer cancel()
	resp, err := s.etcd.Range(ctx, etcd.RangeRequest{Key: []byte(prefix), RangeEnd: etcd.PrefixEnd([]byte(prefix))})
	if err != nil {
		s.etcdFailed(w, r, err)
		return
	}
	rows := make([]json.RawMessage, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if json.Valid(kv.Value) {
			rows = append(rows, kv.Value)
		}
	}
	reply(w, http.StatusOK, envelope{Data: map[string]any{"rows": rows, "total_size": len(rows)}})
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) {
	prefix, id, ok := s.key(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
	defer cancel()
	resp, err := s.etcd.Range(ctx, etcd.RangeRequest{Key: []byte(prefix + id)})
	if err != nil {
		s.etcdFailed(w, r, err)
		return
	}
	if len(resp.Kvs) == 0 {
		reply(w, http.StatusNotFound, envelope{Code: 10404, Message: "data not found"})
		return
	}
	reply(w, http.StatusOK, envelope{Data: json.RawMessage(resp.Kvs[0].Value)})
}

func (s *Server) createRoute(w http.ResponseWriter, r *http.Request) {
	prefix, ok := s.routesPrefix(r)
	if !ok {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "invalid cluster id"})
		return
	}
	s.store(w, r, prefix, fmt.Sprintf("%d", s.now().UnixNano()), false)
}

func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) {
	prefix, id, ok := s.key(w, r)
	if !ok {
		return
	}
	s.store(w, r, prefix, id, true)
}

// store validates the body and writes it with id and timestamps, keeping fields the
// stand-in does not interpret (plugins, labels) as the real dashboard would.
func (s *Server) store(w http.ResponseWriter, r *http.Request, prefix, id string, idFromPath bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: err.Error()})
		return
	}
	rt, err := route.Parse(data)
	if err != nil {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: err.Error()})
		return
	}
	if got := rt.IDString(); idFromPath && got != "" && got != id {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: fmt.Sprintf("ID on path (%s) doesn't match ID on body (%s)", id, got)})
		return
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "route body must be a JSON object"})
		return
	}
	now := s.now().Unix()
	obj["id"] = id
	if _, ok := obj["create_time"]; !ok {
		obj["create_time"] = now
	}
	obj["update_time"] = now
	value, _ := json.Marshal(obj)

	ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
	defer cancel()
	if _, err := s.etcd.Put(ctx, []byte(prefix+id), value); err != nil {
		s.etcdFailed(w, r, err)
		return
	}
	reply(w, http.StatusOK, envelope{Data: json.RawMessage(value)})
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) {
	prefix, id, ok := s.key(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
	defer cancel()
	resp, err := s.etcd.Delete(ctx, []byte(prefix+id), nil)
	if err != nil {
		s.etcdFailed(w, r, err)
		return
	}
	if resp.Deleted == 0 {
		reply(w, http.StatusNotFound, envelope{Code: 10404, Message: "data not found"})
		return
	}
	reply(w, http.StatusOK, envelope{Data: nil})
}

func (s *Server) key(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	prefix, ok := s.routesPrefix(r)
	if !ok {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "invalid cluster id"})
		return "", "", false
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		reply(w, http.StatusBadRequest, envelope{Code: 10000, Message: "invalid route id: use letters, digits, '.', '_' or '-'"})
		return "", "", false
	}
	return prefix, id, true
}

// Banner is what the real manager-api prints once it listens.
func Banner(cfg *conf.Dashboard) string {
	return fmt.Sprintf("The manager-api is running successfully!\n\n"+
		"Version : %s\nGitHash : standin\nListen : %s\nLoglevel: warn\n"+
		"Logfile : /usr/local/apisix-dashboard/logs/error.log\n", versions[cfg.Flavor], cfg.Listen())
}

// Main runs `standin dashboard`. It returns the process exit code.
func Main(args []string) int {
	fs := httpx.NewFlagSet("dashboard")
	path := fs.String("c", "", "path to conf.yaml")
	flavor := fs.String("flavor", conf.FlavorAPI7, "api7 (API7-Dashboard 2.13) or apisix (apisix-dashboard 3.0)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(os.Stderr, "dashboard: -c PATH is required")
		return 2
	}
	cfg, err := conf.LoadDashboard(*path, *flavor)
	if err != nil {
		fmt.Fprintf(os.Stderr, "manager-api: cannot start: %v\n", err)
		return 1
	}
	logger := log.New(logWriter(), "", log.LstdFlags)
	srv, err := New(cfg, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "manager-api: cannot start: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen())
	if err != nil {
		fmt.Fprintf(os.Stderr, "manager-api: cannot listen on %s: %v\n", cfg.Listen(), err)
		return 1
	}
	// The release this image plays: its version in a Server header, its defect if it is a broken one.
	rel := build.FromEnv("unknown")
	hs := &http.Server{Handler: rel.Wrap("API7-Dashboard", srv.Handler()), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	fmt.Print(Banner(cfg))
	return httpx.ServeUntilSignal(logger, nil, httpx.Listener{Server: hs, Ln: ln})
}

// logDir is where the image mounts ./dashboard_logs; warnings go there too when it exists,
// as the banner's Logfile line promises.
const logDir = "/usr/local/apisix-dashboard/logs"

func logWriter() io.Writer {
	if st, err := os.Stat(logDir); err != nil || !st.IsDir() {
		return os.Stderr
	}
	f, err := os.OpenFile(logDir+"/error.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return os.Stderr
	}
	return io.MultiWriter(os.Stderr, f)
}
