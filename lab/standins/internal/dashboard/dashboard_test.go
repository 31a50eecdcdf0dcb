package dashboard

import (
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
	"api7ha.local/standins/internal/etcd"
	"api7ha.local/standins/internal/jwt"
	"api7ha.local/standins/internal/testetcd"
)

func newServer(t *testing.T, flavor, endpoint, secret string) *httptest.Server {
	t.Helper()
	y := fmt.Sprintf("conf:\n  etcd:\n    endpoints: [%q]\nauthentication:\n  secret: %s\n  expire_time: 60\n  users:\n    - {username: admin, password: pw}\n", endpoint, secret)
	cfg, err := conf.ParseDashboard([]byte(y), flavor)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

type resp struct {
	status int
	Code   int             `json:"code"`
	Msg    string          `json:"message"`
	Data   json.RawMessage `json:"data"`
}

func call(t *testing.T, method, url, token, body string) resp {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r resp
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &r)
	r.status = res.StatusCode
	return r
}

func login(t *testing.T, url string) string {
	t.Helper()
	r := call(t, "POST", url, "", `{"username":"admin","password":"pw"}`)
	var d struct{ Token string }
	if r.status != 200 || r.Code != 0 || json.Unmarshal(r.Data, &d) != nil || d.Token == "" {
		t.Fatalf("login: %+v", r)
	}
	return d.Token
}

func TestAPI7RoutesLoginAndSharedSecret(t *testing.T) {
	e := testetcd.Start(t)
	a := newServer(t, conf.FlavorAPI7, e.Endpoint, "same")
	b := newServer(t, conf.FlavorAPI7, e.Endpoint, "same")
	other := newServer(t, conf.FlavorAPI7, e.Endpoint, "different")

	if r := call(t, "GET", a.URL+"/ping", "", ""); r.status != 200 {
		t.Fatalf("ping %d", r.status)
	}
	if r := call(t, "POST", a.URL+"/api/user/login", "", `{"username":"admin","password":"no"}`); r.status != 401 {
		t.Fatalf("bad password: %+v", r)
	}
	tok := login(t, a.URL+"/api/user/login")
	routes := "/api/clusters/21322091/routes"
	if r := call(t, "GET", a.URL+routes, "", ""); r.status != 401 || r.Code != 10401 || r.Msg != "unauthorized" {
		t.Fatalf("no token: %+v", r)
	}
	body := `{"uri":"/get","host":"test.com","methods":["GET"],"upstream":{"type":"roundrobin","nodes":{"10.1.2.3:80":1}},"plugins":{"x":{}}}`
	if r := call(t, "PUT", a.URL+routes+"/r1", tok, body); r.status != 200 || r.Code != 0 {
		t.Fatalf("put: %+v", r)
	}
	// Same secret: the other instance accepts the token and reads the route (linearizable).
	r := call(t, "GET", b.URL+routes+"/r1", tok, "")
	if r.status != 200 || !strings.Contains(string(r.Data), `"plugins"`) || !strings.Contains(string(r.Data), `"id":"r1"`) {
		t.Fatalf("get via b: %+v %s", r, r.Data)
	}
	// Different secret: 401 (apache/apisix-dashboard#2446).
	if r := call(t, "GET", other.URL+routes+"/r1", tok, ""); r.status != 401 {
		t.Fatalf("other secret: %+v", r)
	}
	// Stored where the gateway of cluster 21322091 (prefix /api7/21322091) looks.
	if out := e.Ctl(t, "get", "--keys-only", "--prefix", "/api7/21322091/routes/"); !strings.Contains(out, "/api7/21322091/routes/r1") {
		t.Fatalf("etcd key: %q", out)
	}
	if r := call(t, "GET", a.URL+routes, tok, ""); r.status != 200 || !strings.Contains(string(r.Data), `"total_size":1`) {
		t.Fatalf("list: %+v %s", r, r.Data)
	}
	for _, bad := range []string{`{"uri":"/x"}`, `{"upstream":{"nodes":{"a:1":1}}}`, `nope`, `{"id":"r2","uri":"/x","upstream":{"nodes":{"a:1":1}}}`} {
		if r := call(t, "PUT", a.URL+routes+"/r1", tok, bad); r.status != 400 {
			t.Errorf("bad body %s: %+v", bad, r)
		}
	}
	if r := call(t, "DELETE", a.URL+routes+"/r1", tok, ""); r.status != 200 {
		t.Fatalf("delete: %+v", r)
	}
	if r := call(t, "GET", a.URL+routes+"/r1", tok, ""); r.status != 404 {
		t.Fatalf("get deleted: %+v", r)
	}

	// etcd gone: 503 with code 10503, quickly.
	e.Stop()
	start := time.Now()
	if r := call(t, "GET", a.URL+routes+"/r1", tok, ""); r.status != 503 || r.Code != 10503 || !strings.HasPrefix(r.Msg, "etcd: ") {
		t.Fatalf("etcd down: %+v", r)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("503 took %v", d)
	}
}

func TestAPISIXFlavorAndExpiry(t *testing.T) {
	e := testetcd.Start(t)
	ts := newServer(t, conf.FlavorAPISIX, e.Endpoint, "k")
	if r := call(t, "POST", ts.URL+"/api/user/login", "", `{"username":"admin","password":"pw"}`); r.status != 404 {
		t.Fatalf("api7 path on apisix flavor: %d", r.status)
	}
	tok := login(t, ts.URL+"/apisix/admin/user/login")
	if r := call(t, "PUT", ts.URL+"/apisix/admin/routes/1", tok, `{"uri":"/a*","upstream":{"nodes":[{"host":"10.0.0.1","port":80,"weight":1}]}}`); r.status != 200 {
		t.Fatalf("put: %+v", r)
	}
	if out := e.Ctl(t, "get", "--keys-only", "/apisix/routes/1"); !strings.Contains(out, "/apisix/routes/1") {
		t.Fatalf("etcd key: %q", out)
	}
	expired := mustIssueExpired(t)
	if r := call(t, "GET", ts.URL+"/apisix/admin/routes", expired, ""); r.status != 401 {
		t.Fatalf("expired token: %+v", r)
	}
}

func TestBlackholedEtcdAnswers503InTime(t *testing.T) {
	var hole []string
	for i := 0; i < 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		hole = append(hole, ln.Addr().String())
	}
	cfg := &conf.Dashboard{Flavor: conf.FlavorAPI7, ListenHost: "127.0.0.1", ListenPort: 9000, Secret: "s", ExpireTime: 60,
		Users: map[string]string{"admin": "pw"}, Etcd: conf.Etcd{Endpoints: hole, Prefix: "/api7"}}
	s, err := New(cfg, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	tok := login(t, ts.URL+"/api/user/login")
	start := time.Now()
	r := call(t, "PUT", ts.URL+"/api/clusters/c/routes/1", tok, `{"uri":"/a","upstream":{"nodes":{"a:1":1}}}`)
	if r.status != 503 {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d > 6*time.Second || d < etcd.DefaultAttemptTimeout {
		t.Fatalf("took %v", d)
	}
}

func TestBanner(t *testing.T) {
	want := "The manager-api is running successfully!\n\nVersion : 2.13.2304\nGitHash : standin\nListen : 0.0.0.0:9000\nLoglevel: warn\nLogfile : /usr/local/apisix-dashboard/logs/error.log\n"
	if got := Banner(&conf.Dashboard{Flavor: conf.FlavorAPI7, ListenHost: "0.0.0.0", ListenPort: 9000}); got != want {
		t.Fatalf("%q", got)
	}
}

func mustIssueExpired(t *testing.T) string {
	t.Helper()
	return jwt.Issue([]byte("k"), "admin", time.Now().Add(-2*time.Hour), time.Hour)
}
