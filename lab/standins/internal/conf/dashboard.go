// Package conf parses the vendor configuration files the stand-ins read: the dashboard's
// conf.yaml (API7 2.13 and apisix-dashboard 3.0 shapes) and the gateway's config.yaml (API7
// 2.13 top-level "etcd" and APISIX 3 "deployment.etcd" shapes).
package conf

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Flavors of the dashboard.
const (
	FlavorAPI7   = "api7"
	FlavorAPISIX = "apisix"
)

// EtcdTLS is the etcd client certificate setup.
type EtcdTLS struct {
	CertFile   string
	KeyFile    string
	CAFile     string
	SkipVerify bool
	SNI        string
}

// Etcd is the normalized etcd section of either file.
type Etcd struct {
	Endpoints []string
	Prefix    string
	Username  string // empty: no auth
	Password  string
	TLS       *EtcdTLS // nil: plain (endpoints without scheme get http://)
}

// Dashboard is a parsed conf.yaml.
type Dashboard struct {
	Flavor     string
	ListenHost string
	ListenPort int
	AllowList  []string
	Etcd       Etcd
	Secret     string
	ExpireTime int // seconds
	Users      map[string]string
}

// Listen is host:port as the banner prints it.
func (d *Dashboard) Listen() string { return fmt.Sprintf("%s:%d", d.ListenHost, d.ListenPort) }

type rawDashboard struct {
	Conf struct {
		Listen struct {
			Host string `yaml:"host"`
			Port int    `yaml:"port"`
		} `yaml:"listen"`
		AllowList []string `yaml:"allow_list"`
		Etcd      struct {
			Name       string   `yaml:"name"`
			Endpoints  []string `yaml:"endpoints"`
			EnableAuth *bool    `yaml:"enable_auth"`
			Username   string   `yaml:"username"`
			Password   string   `yaml:"password"`
			MTLS       *struct {
				Enable   *bool  `yaml:"enable"`
				KeyFile  string `yaml:"key_file"`
				CertFile string `yaml:"cert_file"`
				CAFile   string `yaml:"ca_file"`
			} `yaml:"mtls"`
			Prefix string `yaml:"prefix"`
		} `yaml:"etcd"`
	} `yaml:"conf"`
	Authentication struct {
		Secret     string `yaml:"secret"`
		ExpireTime int    `yaml:"expire_time"`
		Users      []struct {
			Username string `yaml:"username"`
			Password string `yaml:"password"`
		} `yaml:"users"`
	} `yaml:"authentication"`
}

// LoadDashboard reads and parses path.
func LoadDashboard(path, flavor string) (*Dashboard, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d, err := ParseDashboard(data, flavor)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ParseDashboard parses conf.yaml. API7 2.13 uses etcd auth only with enable_auth: true and
// mTLS only with mtls.enable: true (the runbook says the username is ignored otherwise);
// apisix-dashboard 3.0 has neither switch and uses whatever is filled in.
func ParseDashboard(data []byte, flavor string) (*Dashboard, error) {
	if flavor != FlavorAPI7 && flavor != FlavorAPISIX {
		return nil, fmt.Errorf("unknown flavor %q (want api7 or apisix)", flavor)
	}
	var raw rawDashboard
	if err := decodeStrictEnough(data, &raw); err != nil {
		return nil, err
	}
	c := raw.Conf
	d := &Dashboard{
		Flavor:     flavor,
		ListenHost: orString(c.Listen.Host, "0.0.0.0"),
		ListenPort: orInt(c.Listen.Port, 9000),
		AllowList:  c.AllowList,
		Secret:     raw.Authentication.Secret,
		ExpireTime: orInt(raw.Authentication.ExpireTime, 3600),
		Users:      map[string]string{},
	}
	if d.ListenPort < 1 || d.ListenPort > 65535 {
		return nil, fmt.Errorf("conf.listen.port %d is not a port", d.ListenPort)
	}
	defaultPrefix := "/api7"
	if flavor == FlavorAPISIX {
		defaultPrefix = "/apisix"
	}
	d.Etcd.Endpoints = c.Etcd.Endpoints
	if len(d.Etcd.Endpoints) == 0 {
		d.Etcd.Endpoints = []string{"127.0.0.1:2379"}
	}
	d.Etcd.Prefix = NormalizePrefix(orString(c.Etcd.Prefix, defaultPrefix))

	useAuth := c.Etcd.Username != ""
	if flavor == FlavorAPI7 {
		useAuth = c.Etcd.EnableAuth != nil && *c.Etcd.EnableAuth
		if useAuth && c.Etcd.Username == "" {
			return nil, errors.New("conf.etcd.enable_auth is true but conf.etcd.username is empty")
		}
	}
	if useAuth {
		d.Etcd.Username, d.Etcd.Password = c.Etcd.Username, c.Etcd.Password
	}
	if m := c.Etcd.MTLS; m != nil {
		use := m.CertFile != "" || m.KeyFile != "" || m.CAFile != ""
		if flavor == FlavorAPI7 {
			use = m.Enable != nil && *m.Enable
		}
		if use {
			d.Etcd.TLS = &EtcdTLS{CertFile: m.CertFile, KeyFile: m.KeyFile, CAFile: m.CAFile}
		}
	}

	if d.Secret == "" {
		return nil, errors.New("authentication.secret is empty: tokens could not be signed")
	}
	if d.ExpireTime < 0 {
		return nil, errors.New("authentication.expire_time must be positive")
	}
	for i, u := range raw.Authentication.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("authentication.users[%d].username is empty", i)
		}
		d.Users[u.Username] = u.Password
	}
	return d, nil
}

// decodeStrictEnough decodes YAML, rejecting empty files and non-mapping documents (a
// truncated or mangled conf must stop the process, not silently become all defaults).
func decodeStrictEnough(data []byte, out any) error {
	var probe yaml.Node
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("invalid YAML: %w", err)
	}
	if len(probe.Content) == 0 || probe.Content[0].Kind != yaml.MappingNode {
		return errors.New("invalid configuration: the document is not a YAML mapping")
	}
	if err := probe.Content[0].Decode(out); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// NormalizePrefix makes "/api7/", "api7" and "/api7" the same "/api7".
func NormalizePrefix(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
