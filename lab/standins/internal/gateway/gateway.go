// Package gateway is the stand-in for API7-Gateway 2.13 / APISIX 3: routes from etcd (load,
// then watch), an HTTP and HTTPS proxy, Prometheus metrics and the status API.
package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"api7ha.local/standins/internal/build"
	"api7ha.local/standins/internal/conf"
	"api7ha.local/standins/internal/etcd"
	"api7ha.local/standins/internal/httpx"
)

// Gateway ties the pieces together.
type Gateway struct {
	cfg     *conf.Gateway
	table   *Table
	syncer  *Syncer
	metrics *Metrics
	proxy   *Proxy
	logger  *log.Logger
	release *build.Release
}

// New builds a gateway from a parsed config (it does not contact etcd).
func New(cfg *conf.Gateway, logger *log.Logger, accessLog bool) (*Gateway, error) {
	ecfg := etcd.Config{Endpoints: cfg.Etcd.Endpoints, Username: cfg.Etcd.Username, Password: cfg.Etcd.Password}
	if t := cfg.Etcd.TLS; t != nil {
		tc, err := etcd.LoadTLS(etcd.TLSFiles{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile, SkipVerify: t.SkipVerify, ServerName: t.SNI})
		if err != nil {
			return nil, err
		}
		ecfg.TLS = tc
	}
	client, err := etcd.New(ecfg)
	if err != nil {
		return nil, err
	}
	logf := logger.Printf
	g := &Gateway{cfg: cfg, metrics: NewMetrics(), logger: logger, release: build.FromEnv("unknown")}
	g.metrics.Version = g.release.Version
	g.table = NewTable(cfg.Etcd.Prefix+"/routes/", logf)
	g.syncer = NewSyncer(client, cfg.Etcd.Prefix+"/routes/", g.table, logf)
	g.proxy = NewProxy(g.table, g.metrics, logf, accessLog)
	return g, nil
}

// Reachable, ModifyIndex, Revision and Routes make the gateway a metrics Source.
func (g *Gateway) Reachable() bool    { return g.syncer.Reachable() }
func (g *Gateway) ModifyIndex() int64 { return g.syncer.ModifyIndex() }
func (g *Gateway) Revision() int64    { return g.syncer.Revision() }
func (g *Gateway) Routes() int        { return g.table.Len() }

// StartupLoad is APISIX's start-time etcd check: rounds of "every endpoint once"; none
// answering means the gateway refuses to start.
func (g *Gateway) StartupLoad(ctx context.Context, rounds int) error {
	var err error
	for round := 1; round <= rounds; round++ {
		if err = g.syncer.Load(ctx); err == nil {
			return nil
		}
		fmt.Printf("Warning! Request etcd endpoints %s error, %v, retry time=%d\n", strings.Join(g.syncer.client.Endpoints(), ","), err, round)
		if round < rounds {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return err
}

// StatusHandler serves APISIX's status API.
func (g *Gateway) StatusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /status/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !g.syncer.Loaded() {
			writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","error":"routes not loaded from etcd yet"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	return mux
}

// MetricsHandler serves /apisix/prometheus/metrics.
func (g *Gateway) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apisix/prometheus/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		g.metrics.Write(w, g)
	})
	return g.release.Wrap("API7", mux)
}

// Main runs `standin gateway`. It returns the process exit code.
func Main(args []string) int {
	fs := httpx.NewFlagSet("gateway")
	path := fs.String("c", "", "path to config.yaml")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(os.Stderr, "gateway: -c PATH is required")
		return 2
	}
	cfg, err := conf.LoadGateway(*path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apisix: cannot start: %v\n", err)
		return 1
	}
	logger := log.New(os.Stdout, "", log.LstdFlags)
	g, err := New(cfg, logger, os.Getenv("STANDIN_ACCESS_LOG") == "1")
	if err != nil {
		fmt.Fprintf(os.Stderr, "apisix: cannot start: %v\n", err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.StartupLoad(ctx, cfg.StartupRetry); err != nil {
		fmt.Println("none of the configured etcd works well")
		fmt.Fprintf(os.Stderr, "apisix: cannot start: etcd: %v\n", err)
		return 1
	}

	var ls []httpx.Listener
	bind := func(addr string, h http.Handler, tlsCfg *tls.Config, track bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(discardNoise{logger}, "", 0)}
		if track {
			hs.ConnState = g.metrics.ConnState
		}
		if tlsCfg != nil {
			hs.TLSConfig = tlsCfg
			ln = tls.NewListener(ln, tlsCfg)
		}
		ls = append(ls, httpx.Listener{Server: hs, Ln: ln})
		return nil
	}
	fail := func(err error) int {
		for _, l := range ls {
			_ = l.Ln.Close()
		}
		fmt.Fprintf(os.Stderr, "apisix: cannot start: %v\n", err)
		return 1
	}
	for _, a := range cfg.NodeListen {
		if err := bind(a, g.release.Wrap("API7", g.proxy), nil, true); err != nil {
			return fail(err)
		}
	}
	if cfg.SSLEnabled {
		tlsCfg, err := selfSigned()
		if err != nil {
			return fail(err)
		}
		for _, a := range cfg.SSLListen {
			if err := bind(a, g.release.Wrap("API7", g.proxy), tlsCfg, true); err != nil {
				return fail(err)
			}
		}
	}
	if err := bind(cfg.Prometheus, g.MetricsHandler(), nil, false); err != nil {
		return fail(err)
	}
	if err := bind(cfg.Status, g.StatusHandler(), nil, false); err != nil {
		return fail(err)
	}

	go g.syncer.Run(ctx)
	g.release.Watch(cfg.Etcd.Endpoints, ctx.Done())
	go g.summarize(ctx)
	https := "off"
	if cfg.SSLEnabled {
		https = strings.Join(cfg.SSLListen, ",")
	}
	logger.Printf("[info] API7/APISIX gateway stand-in started: http %s, https %s, prometheus %s, status %s; %d route(s) loaded from etcd %s (prefix %s, revision %d)",
		strings.Join(cfg.NodeListen, ","), https, cfg.Prometheus, cfg.Status, g.table.Len(),
		g.syncer.client.Endpoints()[g.syncer.client.LastGood()], cfg.Etcd.Prefix, g.syncer.Revision())
	return httpx.ServeUntilSignal(logger, cancel, ls...)
}

// summarize prints one line a minute while there is traffic, instead of an access log.
func (g *Gateway) summarize(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		total, by := g.metrics.Totals()
		if total == last {
			continue
		}
		g.logger.Printf("[info] requests: %d in the last minute (total %d; 2xx %d, 3xx %d, 4xx %d, 5xx %d); routes %d; etcd reachable %v",
			total-last, total, by[2], by[3], by[4], by[5], g.table.Len(), g.syncer.Reachable())
		last = total
	}
}

// selfSigned makes the HTTPS certificate in memory at start (the real gateway serves the SSL
// objects from etcd; the lab only needs a working TLS listener).
func selfSigned() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "apisix-standin", Organization: []string{"api7-ha lab"}},
		DNSNames:     []string{"localhost", host, "test.com", "*.test.com"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}, nil
}

// discardNoise drops the TLS handshake errors every port scan or `curl` without -k produces;
// other server errors still reach the log.
type discardNoise struct{ l *log.Logger }

func (d discardNoise) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "TLS handshake error") {
		return len(p), nil
	}
	d.l.Print(string(p))
	return len(p), nil
}
