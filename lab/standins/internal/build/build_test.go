package build

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func ok() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
}

func TestServerHeaderAndUnhealthy(t *testing.T) {
	good := &Release{Version: "2.13.2305"}
	rec := httptest.NewRecorder()
	good.Wrap("API7", ok()).ServeHTTP(rec, httptest.NewRequest("GET", "/get", nil))
	if rec.Code != 200 || rec.Header().Get("Server") != "API7/2.13.2305" {
		t.Fatalf("good release: %d %q", rec.Code, rec.Header().Get("Server"))
	}
	bad := &Release{Version: "2.13.2305-unhealthy", Defect: Unhealthy}
	rec = httptest.NewRecorder()
	bad.Wrap("API7", ok()).ServeHTTP(rec, httptest.NewRequest("GET", "/get", nil))
	if rec.Code != 503 {
		t.Fatalf("unhealthy release answered %d", rec.Code)
	}
}

func TestEtcdMemberLossStopsServingWhileAMemberIsDown(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	goneAddr := gone.Addr().String()
	r := &Release{Version: "2.13.2305-fragile", Defect: EtcdMemberLoss}
	done := make(chan struct{})
	defer close(done)
	r.Watch([]string{"http://" + up.Addr().String(), "http://" + goneAddr}, done)
	status := func() int {
		rec := httptest.NewRecorder()
		r.Wrap("API7", ok()).ServeHTTP(rec, httptest.NewRequest("GET", "/get", nil))
		return rec.Code
	}
	time.Sleep(400 * time.Millisecond)
	if c := status(); c != 200 {
		t.Fatalf("every member up: %d", c)
	}
	_ = gone.Close()
	time.Sleep(600 * time.Millisecond)
	if c := status(); c != 503 {
		t.Fatalf("a member down: %d", c)
	}
}
