package gateway

import (
	"api7ha.local/standins/internal/route"
	"fmt"
	"testing"

	"api7ha.local/standins/internal/etcd"
)

const pfx = "/api7/c1/routes/"

func put(id, body string) etcd.Event {
	return etcd.Event{KV: etcd.KV{Key: []byte(pfx + id), Value: []byte(body)}}
}

func del(id string) etcd.Event {
	return etcd.Event{Type: "DELETE", KV: etcd.KV{Key: []byte(pfx + id)}}
}

func up(node string) string { return fmt.Sprintf(`"upstream":{"nodes":{%q:1}}`, node) }

func matchID(t *Table, host, path, method string) string {
	if r := t.Match(host, path, method); r != nil {
		return r.id
	}
	return ""
}

func TestMatching(t *testing.T) {
	tb := NewTable(pfx, t.Logf)
	tb.Replace([]etcd.KV{
		{Key: []byte(pfx + "get"), Value: []byte(`{"uri":"/get","host":"test.com","methods":["GET"],` + up("10.0.0.1:80") + `}`)},
		{Key: []byte(pfx + "any"), Value: []byte(`{"uri":"/*",` + up("10.0.0.2:80") + `}`)},
		{Key: []byte(pfx + "api"), Value: []byte(`{"uri":"/api/*","hosts":["A.example.com","*.wild.com"],` + up("10.0.0.3:80") + `}`)},
		{Key: []byte(pfx + "off"), Value: []byte(`{"uri":"/off","status":0,` + up("10.0.0.4:80") + `}`)},
		{Key: []byte("/api7/c1/routes"), Value: []byte(`init_dir`)},
	})
	if tb.Len() != 4 {
		t.Fatalf("loaded %d routes, want 4 (the directory marker is not a route)", tb.Len())
	}
	for _, c := range []struct{ host, path, method, want string }{
		{"test.com", "/get", "GET", "get"},
		{"TEST.com:80", "/get", "GET", "get"}, // case-insensitive, port stripped
		{"test.com", "/get", "POST", "any"},   // method mismatch falls to the catch-all
		{"other.com", "/get", "GET", "any"},   // host mismatch too
		{"a.example.com", "/api/v1", "GET", "api"},
		{"x.wild.com", "/api/v1", "GET", "api"},
		{"wild.com", "/api/v1", "GET", "any"},
		{"test.com", "/off", "GET", "any"}, // status 0: route disabled
	} {
		if got := matchID(tb, c.host, c.path, c.method); got != c.want {
			t.Errorf("%s %s %s: got %q want %q", c.method, c.host, c.path, got, c.want)
		}
	}
	tb.Apply([]etcd.Event{del("any")})
	if got := matchID(tb, "other.com", "/get", "GET"); got != "" {
		t.Errorf("after delete: matched %q", got)
	}
}

func TestApplyEvents(t *testing.T) {
	tb := NewTable(pfx, t.Logf)
	if n := tb.Apply([]etcd.Event{put("1", `{"uri":"/a",`+up("10.0.0.1:80")+`}`), put("2", `{"uri":"/b",`+up("10.0.0.1:80")+`}`)}); n != 2 {
		t.Fatalf("changed %d", n)
	}
	// Update moves route 1; PUT events have no "type" in the gateway's JSON.
	tb.Apply([]etcd.Event{put("1", `{"uri":"/c",`+up("10.0.0.1:80")+`}`)})
	if matchID(tb, "h", "/a", "GET") != "" || matchID(tb, "h", "/c", "GET") != "1" {
		t.Fatal("update not applied")
	}
	// An invalid update removes the route rather than keeping a stale one.
	tb.Apply([]etcd.Event{put("2", `{"uri":"/b"}`)})
	if matchID(tb, "h", "/b", "GET") != "" || tb.Len() != 1 {
		t.Fatal("invalid update kept the route")
	}
	if n := tb.Apply([]etcd.Event{del("1"), del("nope"), {KV: etcd.KV{Key: []byte("/other/key"), Value: []byte("{}")}}}); n != 1 || tb.Len() != 0 {
		t.Fatalf("delete: changed %d len %d", n, tb.Len())
	}
}

func TestSyncerRevisionTracking(t *testing.T) {
	tb := NewTable(pfx, t.Logf)
	s := NewSyncer(nil, pfx, tb, t.Logf)
	s.rev.Store(10)
	s.ApplyWatchResponse(&etcd.WatchResponse{Events: []etcd.Event{
		{KV: etcd.KV{Key: []byte(pfx + "1"), Value: []byte(`{"uri":"/a",` + up("10.0.0.1:80") + `}`), ModRevision: 12}},
		{Type: "DELETE", KV: etcd.KV{Key: []byte(pfx + "1"), ModRevision: 13}},
	}})
	if s.Revision() != 13 || s.ModifyIndex() != 13 || tb.Len() != 0 {
		t.Fatalf("rev %d mod %d len %d", s.Revision(), s.ModifyIndex(), tb.Len())
	}
	// A progress notification advances the resume point without events.
	s.ApplyWatchResponse(&etcd.WatchResponse{Header: etcd.Header{Revision: 20}})
	if s.Revision() != 20 || s.ModifyIndex() != 13 {
		t.Fatalf("progress: rev %d mod %d", s.Revision(), s.ModifyIndex())
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	w := newWRR([]route.Node{{Addr: "a:1", Weight: 2}, {Addr: "b:1", Weight: 1}, {Addr: "c:1", Weight: 0}})
	counts := map[string]int{}
	for i := 0; i < 30; i++ {
		o := w.order()
		counts[o[0]]++
		if len(o) != 2 {
			t.Fatalf("zero-weight node offered as fallback: %v", o)
		}
	}
	if counts["a:1"] != 20 || counts["b:1"] != 10 {
		t.Fatalf("distribution %v", counts)
	}
}
