package conf

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// The runbook's dashboard_conf/conf.yaml (indentation restored).
const api7Dashboard = `
conf:
  listen:
    host: 0.0.0.0
    port: 9000
  etcd:
    name: "default"
    endpoints:
      - 10.0.0.1:2379
      - 10.0.0.2:2379
      - 10.0.0.3:2379
    enable_auth: false
    username: "root"
    password: "123456"
    mtls:
      enable: false
      key_file: ""
      cert_file: ""
      ca_file: ""
    prefix: /api7
authentication:
  secret: s3cret
  expire_time: 3600
  users:
    - username: admin
      password: admin
`

func TestDashboardAPI7RunbookShape(t *testing.T) {
	d, err := ParseDashboard([]byte(api7Dashboard), FlavorAPI7)
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen() != "0.0.0.0:9000" || d.Secret != "s3cret" || d.ExpireTime != 3600 {
		t.Fatalf("listen/secret/expire: %+v", d)
	}
	if !reflect.DeepEqual(d.Etcd.Endpoints, []string{"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"}) {
		t.Fatalf("endpoints %v", d.Etcd.Endpoints)
	}
	// enable_auth: false means the username is ignored, as the runbook says.
	if d.Etcd.Username != "" || d.Etcd.TLS != nil || d.Etcd.Prefix != "/api7" {
		t.Fatalf("etcd: %+v", d.Etcd)
	}
	if d.Users["admin"] != "admin" {
		t.Fatalf("users %v", d.Users)
	}

	on := strings.Replace(strings.Replace(api7Dashboard, "enable_auth: false", "enable_auth: true", 1), "enable: false", "enable: true", 1)
	on = strings.Replace(on, `cert_file: ""`, `cert_file: "/c.pem"`, 1)
	d, err = ParseDashboard([]byte(on), FlavorAPI7)
	if err != nil {
		t.Fatal(err)
	}
	if d.Etcd.Username != "root" || d.Etcd.Password != "123456" || d.Etcd.TLS == nil || d.Etcd.TLS.CertFile != "/c.pem" {
		t.Fatalf("auth/mtls on: %+v %+v", d.Etcd, d.Etcd.TLS)
	}
}

func TestDashboardAPISIXShape(t *testing.T) {
	const y = `
conf:
  listen:
    port: 9001
  allow_list: [0.0.0.0/0]
  etcd:
    endpoints: ["http://127.0.0.1:2379"]
    username: root
    password: pw
    mtls:
      key_file: /k
      cert_file: /c
      ca_file: /ca
authentication:
  secret: x
  users:
    - {username: admin, password: admin}
`
	d, err := ParseDashboard([]byte(y), FlavorAPISIX)
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen() != "0.0.0.0:9001" || d.Etcd.Prefix != "/apisix" || d.ExpireTime != 3600 {
		t.Fatalf("%+v", d)
	}
	if d.Etcd.Username != "root" || d.Etcd.TLS == nil || d.Etcd.TLS.CAFile != "/ca" {
		t.Fatalf("no switches in 3.0: filled-in auth and mtls are used: %+v", d.Etcd)
	}
	if !reflect.DeepEqual(d.AllowList, []string{"0.0.0.0/0"}) {
		t.Fatalf("allow_list %v", d.AllowList)
	}
}

func TestDashboardRejectsBadConf(t *testing.T) {
	for name, y := range map[string]string{
		"empty":        "",
		"not yaml":     "conf: [",
		"scalar":       "hello",
		"no secret":    "conf: {}\nauthentication: {users: [{username: a, password: b}]}",
		"bad port":     "conf: {listen: {port: 70000}}\nauthentication: {secret: x}",
		"auth no user": "conf: {etcd: {enable_auth: true}}\nauthentication: {secret: x}",
		"wrong type":   "conf: {listen: {port: abc}}\nauthentication: {secret: x}",
	} {
		if _, err := ParseDashboard([]byte(y), FlavorAPI7); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseDashboard([]byte(api7Dashboard), "kong"); err == nil {
		t.Error("unknown flavor accepted")
	}
}

// The runbook's gateway_conf/config.yaml shape, as the tool writes it.
func TestGatewayAPI7Shape(t *testing.T) {
	const y = `
apisix:
  node_listen: 80
  ssl:
    enable: true
    listen_port: 443
etcd:
  host:
    - "http://10.0.0.1:2379"
    - "10.0.0.2:2379"
  prefix: /api7/21322091
  timeout: 30
  user: root
  password: pw
plugin_attr:
  prometheus:
    export_addr:
      ip: 0.0.0.0
      port: 9091
`
	g, err := ParseGateway([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := &Gateway{
		NodeListen: []string{"0.0.0.0:80"}, SSLEnabled: true, SSLListen: []string{"0.0.0.0:443"},
		Prometheus: "0.0.0.0:9091", Status: "127.0.0.1:7085",
		Etcd:        Etcd{Endpoints: []string{"http://10.0.0.1:2379", "10.0.0.2:2379"}, Prefix: "/api7/21322091", Username: "root", Password: "pw"},
		EtcdTimeout: 30 * time.Second, StartupRetry: 2,
	}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("got  %+v\nwant %+v", g, want)
	}
}

func TestGatewayAPISIX3ShapeAndPrecedence(t *testing.T) {
	const y = `
apisix:
  node_listen:
    - 9080
    - ip: 127.0.0.1
      port: 9081
  ssl:
    listen:
      - port: 9443
    ssl_trusted_certificate: /ca.pem
  status:
    ip: 0.0.0.0
    port: 7085
etcd:
  host: ["http://ignored:2379"]
deployment:
  role: traditional
  etcd:
    host: ["https://10.0.0.1:2379"]
    prefix: /apisix/
    startup_retry: 5
    tls:
      cert: /c.pem
      key: /k.pem
      verify: false
`
	g, err := ParseGateway([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.NodeListen, []string{"0.0.0.0:9080", "127.0.0.1:9081"}) || !reflect.DeepEqual(g.SSLListen, []string{"0.0.0.0:9443"}) {
		t.Fatalf("listeners %v %v", g.NodeListen, g.SSLListen)
	}
	if g.Status != "0.0.0.0:7085" || g.Prometheus != "0.0.0.0:9091" || g.StartupRetry != 5 {
		t.Fatalf("%+v", g)
	}
	if g.Etcd.Endpoints[0] != "https://10.0.0.1:2379" || g.Etcd.Prefix != "/apisix" {
		t.Fatalf("deployment.etcd must win: %+v", g.Etcd)
	}
	tl := g.Etcd.TLS
	if tl == nil || tl.CAFile != "/ca.pem" || tl.CertFile != "/c.pem" || tl.KeyFile != "/k.pem" || !tl.SkipVerify {
		t.Fatalf("tls %+v", tl)
	}
}

func TestGatewayDefaults(t *testing.T) {
	g, err := ParseGateway([]byte("apisix: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g.NodeListen[0] != "0.0.0.0:9080" || g.SSLListen[0] != "0.0.0.0:9443" || g.Etcd.Prefix != "/apisix" || g.Etcd.TLS != nil {
		t.Fatalf("%+v", g)
	}
	for name, y := range map[string]string{"port": "apisix: {node_listen: 0}", "list": "apisix: {node_listen: [x]}", "yaml": "a: ["} {
		if _, err := ParseGateway([]byte(y)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
