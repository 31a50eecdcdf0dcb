package etcd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names the files of an mTLS client setup. Empty fields are simply not used.
type TLSFiles struct {
	CertFile string
	KeyFile  string
	CAFile   string
	// SkipVerify turns off server certificate checks (APISIX's etcd.tls.verify: false).
	SkipVerify bool
	ServerName string
}

// LoadTLS builds the client TLS config: a client certificate when cert and key are given, the
// CA as the only trusted root when given (otherwise the system roots).
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.SkipVerify, ServerName: f.ServerName} //nolint:gosec // verify is the operator's choice, as in APISIX
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("etcd tls: a client certificate needs both cert and key files")
	}
	if f.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd tls: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd tls: CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd tls: CA %s: no PEM certificate found", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
