package etcd_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"api7ha.local/standins/internal/etcd"
	"api7ha.local/standins/internal/testetcd"
)

func TestNormalizeEndpoint(t *testing.T) {
	for _, c := range []struct {
		in   string
		tls  bool
		want string
	}{
		{"10.0.0.1:2379", false, "http://10.0.0.1:2379"},
		{"10.0.0.1:2379", true, "https://10.0.0.1:2379"},
		{"http://10.0.0.1:2379/", true, "http://10.0.0.1:2379"},
		{"https://e:2379", false, "https://e:2379"},
	} {
		if got, err := etcd.NormalizeEndpoint(c.in, c.tls); err != nil || got != c.want {
			t.Errorf("%q tls=%v: %q %v", c.in, c.tls, got, err)
		}
	}
	if _, err := etcd.NormalizeEndpoint("unix://x", false); err == nil {
		t.Error("unix:// accepted")
	}
}

func TestPrefixEnd(t *testing.T) {
	if got := string(etcd.PrefixEnd([]byte("/a/"))); got != "/a0" {
		t.Fatalf("got %q", got)
	}
}

// blackHole accepts connections and never answers: a partitioned member as the client sees it.
func blackHole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestKVWatchAuthAndFailover(t *testing.T) {
	e := testetcd.Start(t)
	ctx := context.Background()
	// First endpoint refuses, second hangs: the call must still land on the live member, fast.
	c, err := etcd.New(etcd.Config{Endpoints: []string{closedPort(t), blackHole(t), e.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Put(ctx, []byte("/p/routes/1"), []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("failover took %v", d)
	}
	if c.LastGood() != 2 {
		t.Fatalf("last good %d", c.LastGood())
	}
	start = time.Now()
	r, err := c.Range(ctx, etcd.RangeRequest{Key: []byte("/p/"), RangeEnd: etcd.PrefixEnd([]byte("/p/"))})
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != `{"a":1}` || r.Header.Revision < 2 {
		t.Fatalf("range %+v %v", r, err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("the next call should start at the last good endpoint, took %v", d)
	}

	// Watch from the revision of the put sees it, then a delete.
	ws, err := c.Watch(ctx, 2, etcd.WatchCreateRequest{Key: []byte("/p/"), RangeEnd: etcd.PrefixEnd([]byte("/p/")), StartRevision: int64(r.Kvs[0].ModRevision)})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	wr, err := ws.Next()
	if err != nil || len(wr.Events) != 1 || wr.Events[0].IsDelete() {
		t.Fatalf("watch put %+v %v", wr, err)
	}
	if d, err := c.Delete(ctx, []byte("/p/routes/1"), nil); err != nil || d.Deleted != 1 {
		t.Fatalf("delete %+v %v", d, err)
	}
	wr, err = ws.Next()
	if err != nil || len(wr.Events) != 1 || !wr.Events[0].IsDelete() {
		t.Fatalf("watch delete %+v %v", wr, err)
	}

	// Compaction cancels a watch from an old revision with the compact revision (etcd first
	// confirms the creation, then cancels).
	e.Ctl(t, "compact", "3")
	old, err := c.Watch(ctx, 2, etcd.WatchCreateRequest{Key: []byte("/p/"), StartRevision: 1})
	if err == nil {
		_, err = old.Next()
		old.Close()
	}
	var wc *etcd.ErrWatchCanceled
	if !errors.As(err, &wc) || wc.CompactRevision != 3 {
		t.Fatalf("compacted watch: %v", err)
	}

	// Auth: user/password gives a token; a client without credentials is refused with a 4xx
	// at once (no failover loop).
	e.Ctl(t, "user", "add", "root:pw")
	e.Ctl(t, "auth", "enable")
	authed, _ := etcd.New(etcd.Config{Endpoints: []string{e.Endpoint}, Username: "root", Password: "pw"})
	if _, err := authed.Put(ctx, []byte("/p/x"), []byte("1")); err != nil {
		t.Fatalf("authed put: %v", err)
	}
	if _, err := authed.Watch(ctx, 0, etcd.WatchCreateRequest{Key: []byte("/p/x")}); err != nil {
		t.Fatalf("authed watch: %v", err)
	}
	anon, _ := etcd.New(etcd.Config{Endpoints: []string{e.Endpoint}})
	_, err = anon.Range(ctx, etcd.RangeRequest{Key: []byte("/p/x")})
	var ee *etcd.Error
	if !errors.As(err, &ee) || !strings.Contains(ee.Message, "user name is empty") {
		t.Fatalf("anonymous: %v", err)
	}
	wrong, _ := etcd.New(etcd.Config{Endpoints: []string{e.Endpoint}, Username: "root", Password: "nope"})
	if _, err := wrong.Range(ctx, etcd.RangeRequest{Key: []byte("/p/x")}); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong password: %v", err)
	}

	// Nothing answers: an error within the total budget.
	e.Stop()
	start = time.Now()
	_, err = c.Range(ctx, etcd.RangeRequest{Key: []byte("/p/")})
	var ue *etcd.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("all down: %v", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("all down took %v", d)
	}
}
