package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"api7ha.local/standins/internal/conf"
	"api7ha.local/standins/internal/echo"
	"api7ha.local/standins/internal/testetcd"
)

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGatewayEndToEnd(t *testing.T) {
	e := testetcd.Start(t)
	upstream := httptest.NewServer(echo.Handler())
	defer upstream.Close()
	upAddr := strings.TrimPrefix(upstream.URL, "http://")
	e.Ctl(t, "put", "/api7/c1/routes/r1", fmt.Sprintf(`{"id":"r1","uri":"/get","host":"test.com","upstream":{"nodes":{%q:1,%q:1}}}`, deadAddr(t), upAddr))

	cfg, err := conf.ParseGateway([]byte(fmt.Sprintf("etcd:\n  host: [%q, %q]\n  prefix: /api7/c1\n", deadAddr(t), e.Endpoint)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, log.New(io.Discard, "", 0), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.StartupLoad(ctx, 1); err != nil {
		t.Fatal(err)
	}
	go g.syncer.Run(ctx)
	gw := httptest.NewServer(g.proxy)
	defer gw.Close()

	// The runbook's check, through a dead first node (connection refused: next node).
	for i := 0; i < 4; i++ {
		code, body := get(t, gw.URL+"/get?x=1", "test.com")
		if code != 200 {
			t.Fatalf("proxy: %d %s", code, body)
		}
		var echoed struct {
			Headers map[string]string
			URL     string
			Args    map[string]any
		}
		if err := json.Unmarshal([]byte(body), &echoed); err != nil {
			t.Fatal(err)
		}
		if echoed.URL != "http://test.com/get?x=1" || echoed.Headers["X-Forwarded-Host"] != "test.com" || echoed.Headers["X-Real-Ip"] != "127.0.0.1" || echoed.Args["x"] != "1" {
			t.Fatalf("echo saw %+v", echoed)
		}
	}
	if code, body := get(t, gw.URL+"/get", "other.com"); code != 404 || body != `{"error_msg":"404 Route Not Found"}`+"\n" {
		t.Fatalf("no route: %d %q", code, body)
	}

	// Watch: a new route appears, a deleted one goes.
	e.Ctl(t, "put", "/api7/c1/routes/r2", fmt.Sprintf(`{"uri":"/anything/*","upstream":{"nodes":{%q:1}}}`, upAddr))
	eventually(t, "r2 via watch", func() bool { c, _ := get(t, gw.URL+"/anything/x", "h"); return c == 200 })
	e.Ctl(t, "del", "/api7/c1/routes/r2")
	eventually(t, "r2 deleted via watch", func() bool { c, _ := get(t, gw.URL+"/anything/x", "h"); return c == 404 })

	var metrics strings.Builder
	g.metrics.Write(&metrics, g)
	for _, want := range []string{`apisix_http_status{code="200",route="r1"} 4`, `apisix_etcd_reachable 1`, `apisix_routes_loaded 1`, `apisix_etcd_modify_indexes{key="routes"}`, `apisix_node_info{hostname=`, `apisix_nginx_http_current_connections{state="active"}`, `apisix_http_requests_total`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics.String())
		}
	}

	// etcd gone: keep serving from memory, report unreachable within a probe or two.
	e.Stop()
	eventually(t, "etcd unreachable", func() bool { return !g.Reachable() })
	if code, _ := get(t, gw.URL+"/get", "test.com"); code != 200 {
		t.Fatalf("serving from memory: %d", code)
	}

	// And a fresh gateway refuses to start.
	g2, _ := New(cfg, log.New(io.Discard, "", 0), false)
	start := time.Now()
	if err := g2.StartupLoad(ctx, 2); err == nil {
		t.Fatal("fresh gateway started without etcd")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("refusal took %v", d)
	}
	st := httptest.NewServer(g2.StatusHandler())
	defer st.Close()
	if code, _ := get(t, st.URL+"/status/ready", "x"); code != 503 {
		t.Fatalf("ready before load: %d", code)
	}
}

// A gateway that fell behind a compaction (it was cut off while etcd compacted) reloads
// everything instead of missing changes.
func TestSyncerReloadsAfterCompaction(t *testing.T) {
	e := testetcd.Start(t)
	up := `"upstream":{"nodes":{"127.0.0.1:1":1}}`
	e.Ctl(t, "put", "/apisix/routes/1", `{"uri":"/one",`+up+`}`)
	cfg, err := conf.ParseGateway([]byte(fmt.Sprintf("deployment:\n  etcd:\n    host: [%q]\n", e.Endpoint)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, log.New(io.Discard, "", 0), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.StartupLoad(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.Ctl(t, "put", "/apisix/routes/2", `{"uri":"/two",`+up+`}`)
	e.Ctl(t, "del", "/apisix/routes/1")
	e.Ctl(t, "put", "/other", "x")
	e.Ctl(t, "compact", "5")
	go g.syncer.Run(ctx)
	eventually(t, "reload after compaction", func() bool {
		return g.table.Match("h", "/two", "GET") != nil && g.table.Match("h", "/one", "GET") == nil
	})
	if g.Revision() < 5 {
		t.Fatalf("revision %d after reload", g.Revision())
	}
}
