package conf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Gateway is a parsed config.yaml of API7-Gateway 2.13 or APISIX 3.
type Gateway struct {
	NodeListen   []string // host:port
	SSLEnabled   bool
	SSLListen    []string
	Prometheus   string // host:port, "" when disabled
	Status       string // host:port
	Etcd         Etcd
	EtcdTimeout  time.Duration
	StartupRetry int
}

// listenList accepts every shape APISIX allows for node_listen / ssl.listen:
// 9080, [9080, 9081], [{ip: 0.0.0.0, port: 9080}].
type listenList []string

func (l *listenList) UnmarshalYAML(n *yaml.Node) error {
	add := func(ip string, port int) error {
		if port < 1 || port > 65535 {
			return fmt.Errorf("line %d: %d is not a port", n.Line, port)
		}
		*l = append(*l, net.JoinHostPort(orString(ip, "0.0.0.0"), strconv.Itoa(port)))
		return nil
	}
	one := func(item *yaml.Node) error {
		switch item.Kind {
		case yaml.ScalarNode:
			p, err := strconv.Atoi(item.Value)
			if err != nil {
				return fmt.Errorf("line %d: %q is not a port", item.Line, item.Value)
			}
			return add("", p)
		case yaml.MappingNode:
			var m struct {
				IP   string `yaml:"ip"`
				Port int    `yaml:"port"`
			}
			if err := item.Decode(&m); err != nil {
				return err
			}
			return add(m.IP, m.Port)
		default:
			return fmt.Errorf("line %d: expected a port or {ip, port}", item.Line)
		}
	}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			if err := one(item); err != nil {
				return err
			}
		}
		return nil
	}
	return one(n)
}

type rawGatewayEtcd struct {
	Host     []string `yaml:"host"`
	Prefix   string   `yaml:"prefix"`
	Timeout  int      `yaml:"timeout"`
	User     string   `yaml:"user"`
	Password string   `yaml:"password"`
	// StartupRetry is APISIX 3's deployment.etcd.startup_retry.
	StartupRetry int `yaml:"startup_retry"`
	TLS          *struct {
		Cert   string `yaml:"cert"`
		Key    string `yaml:"key"`
		Verify *bool  `yaml:"verify"`
		SNI    string `yaml:"sni"`
	} `yaml:"tls"`
}

type addr struct {
	IP   string `yaml:"ip"`
	Port int    `yaml:"port"`
}

type rawGateway struct {
	APISIX struct {
		NodeListen *listenList `yaml:"node_listen"`
		SSL        struct {
			Enable                *bool       `yaml:"enable"`
			ListenPort            int         `yaml:"listen_port"`
			Listen                *listenList `yaml:"listen"`
			SSLTrustedCertificate string      `yaml:"ssl_trusted_certificate"`
		} `yaml:"ssl"`
		Status *addr `yaml:"status"`
	} `yaml:"apisix"`
	Etcd       *rawGatewayEtcd `yaml:"etcd"`
	Deployment struct {
		Etcd *rawGatewayEtcd `yaml:"etcd"`
	} `yaml:"deployment"`
	PluginAttr struct {
		Prometheus struct {
			ExportAddr *addr `yaml:"export_addr"`
		} `yaml:"prometheus"`
	} `yaml:"plugin_attr"`
}

// LoadGateway reads and parses path.
func LoadGateway(path string) (*Gateway, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := ParseGateway(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// ParseGateway parses config.yaml. deployment.etcd (APISIX 3) wins over the top-level etcd
// (API7 2.13 / APISIX 2), as in APISIX's own loader.
func ParseGateway(data []byte) (*Gateway, error) {
	var raw rawGateway
	if err := decodeStrictEnough(data, &raw); err != nil {
		return nil, err
	}
	g := &Gateway{NodeListen: []string{"0.0.0.0:9080"}, SSLEnabled: true, SSLListen: []string{"0.0.0.0:9443"}}
	a := raw.APISIX
	if a.NodeListen != nil && len(*a.NodeListen) > 0 {
		g.NodeListen = *a.NodeListen
	}
	if a.SSL.Enable != nil {
		g.SSLEnabled = *a.SSL.Enable
	}
	switch {
	case a.SSL.Listen != nil && len(*a.SSL.Listen) > 0:
		g.SSLListen = *a.SSL.Listen
	case a.SSL.ListenPort != 0:
		if a.SSL.ListenPort < 1 || a.SSL.ListenPort > 65535 {
			return nil, fmt.Errorf("apisix.ssl.listen_port %d is not a port", a.SSL.ListenPort)
		}
		g.SSLListen = []string{net.JoinHostPort("0.0.0.0", strconv.Itoa(a.SSL.ListenPort))}
	}
	g.Status = addrOr(a.Status, "127.0.0.1", 7085)
	g.Prometheus = addrOr(raw.PluginAttr.Prometheus.ExportAddr, "0.0.0.0", 9091)

	e := raw.Deployment.Etcd
	if e == nil {
		e = raw.Etcd
	}
	if e == nil {
		e = &rawGatewayEtcd{}
	}
	g.Etcd.Endpoints = e.Host
	if len(g.Etcd.Endpoints) == 0 {
		g.Etcd.Endpoints = []string{"http://127.0.0.1:2379"}
	}
	g.Etcd.Prefix = NormalizePrefix(orString(e.Prefix, "/apisix"))
	if e.User != "" {
		g.Etcd.Username, g.Etcd.Password = e.User, e.Password
	}
	g.EtcdTimeout = time.Duration(orInt(e.Timeout, 30)) * time.Second
	g.StartupRetry = orInt(e.StartupRetry, 2)
	if g.StartupRetry < 1 {
		return nil, errors.New("etcd.startup_retry must be at least 1")
	}
	if e.TLS != nil || a.SSL.SSLTrustedCertificate != "" {
		t := &EtcdTLS{CAFile: a.SSL.SSLTrustedCertificate}
		if e.TLS != nil {
			t.CertFile, t.KeyFile, t.SNI = e.TLS.Cert, e.TLS.Key, e.TLS.SNI
			t.SkipVerify = e.TLS.Verify != nil && !*e.TLS.Verify
		}
		// A trusted CA alone (for the data plane's upstream TLS) must not turn etcd into https
		// when no etcd tls section exists and the endpoints say http://.
		if e.TLS != nil {
			g.Etcd.TLS = t
		} else if hasHTTPS(g.Etcd.Endpoints) {
			g.Etcd.TLS = t
		}
	}
	return g, nil
}

func hasHTTPS(eps []string) bool {
	for _, ep := range eps {
		if len(ep) > 8 && ep[:8] == "https://" {
			return true
		}
	}
	return false
}

func addrOr(a *addr, ip string, port int) string {
	if a != nil {
		ip = orString(a.IP, ip)
		port = orInt(a.Port, port)
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
