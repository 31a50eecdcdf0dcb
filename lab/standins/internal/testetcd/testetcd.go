// Package testetcd starts a throwaway single-member etcd (Debian's /usr/bin/etcd) for tests
// that need the real JSON gateway. Tests skip when no etcd binary is installed.
package testetcd

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Etcd is a running member.
type Etcd struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	log      *bytes.Buffer
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs etcd in t.TempDir() and stops it (by its own PID) when the test ends.
func Start(t *testing.T) *Etcd {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd binary not installed (apt-get install etcd-server)")
	}
	dir := t.TempDir()
	client, peer := freePort(t), freePort(t)
	cu := fmt.Sprintf("http://127.0.0.1:%d", client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	var logBuf bytes.Buffer
	cmd := exec.Command(bin,
		"--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "test="+pu, "--log-level", "error")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &Etcd{Endpoint: cu, cmd: cmd, log: &logBuf}
	t.Cleanup(e.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Post(cu+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"AA=="}`))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return e
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("etcd did not come up: %s", logBuf.String())
	return nil
}

// Stop kills the member (idempotent).
func (e *Etcd) Stop() {
	if e.cmd.ProcessState == nil {
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	}
}

// Ctl runs etcdctl against the member.
func (e *Etcd) Ctl(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Skip("etcdctl not installed")
	}
	cmd := exec.Command(bin, append([]string{"--endpoints", e.Endpoint}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl %v: %v: %s", args, err, out)
	}
	return string(out)
}
