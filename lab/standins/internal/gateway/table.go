package gateway

import (
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"api7ha.local/standins/internal/etcd"
	"api7ha.local/standins/internal/route"
)

// compiled is a route ready for matching and proxying.
type compiled struct {
	key      string
	id       string
	uris     []string // empty for a disabled route ("status": 0): it matches nothing
	hosts    []string // lower case; "*.example.com" wildcards allowed
	methods  map[string]bool
	priority int
	upstream *route.Upstream
	lb       *wrr
}

// entry is one (uri, route) pair of the match order; a route with uris has several.
type entry struct {
	path   string // without the trailing "*" for prefixes
	prefix bool
	r      *compiled
}

// Table is the in-memory route table: written by the etcd syncer, read lock-free by every
// request through an immutable snapshot.
type Table struct {
	prefix string // "{etcd prefix}/routes/"
	logf   func(format string, args ...any)

	mu    sync.Mutex
	byKey map[string]*compiled
	snap  atomic.Pointer[[]entry]
}

// NewTable returns an empty table for keys under routesPrefix.
func NewTable(routesPrefix string, logf func(string, ...any)) *Table {
	t := &Table{prefix: routesPrefix, logf: logf, byKey: map[string]*compiled{}}
	t.snap.Store(&[]entry{})
	return t
}

// Len is the number of routes loaded (enabled or not).
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// Replace swaps the whole table for kvs (initial load, reload after compaction).
func (t *Table) Replace(kvs []etcd.KV) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byKey = map[string]*compiled{}
	for _, kv := range kvs {
		t.putLocked(string(kv.Key), kv.Value)
	}
	t.publishLocked()
}

// Apply applies watch events in order; it returns how many changed the table.
func (t *Table) Apply(events []etcd.Event) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := 0
	for _, ev := range events {
		key := string(ev.KV.Key)
		if ev.IsDelete() {
			if _, ok := t.byKey[key]; ok {
				delete(t.byKey, key)
				changed++
			}
			continue
		}
		if t.putLocked(key, ev.KV.Value) {
			changed++
		}
	}
	if changed > 0 {
		t.publishLocked()
	}
	return changed
}

// putLocked compiles one stored route. An invalid value removes the key's previous route:
// serving a route whose stored definition is broken would hide the breakage.
func (t *Table) putLocked(key string, value []byte) bool {
	rest := strings.TrimPrefix(key, t.prefix)
	if rest == key || rest == "" || strings.Contains(rest, "/") {
		return false // not a route object (a directory marker or a nested key)
	}
	r, err := route.Parse(value)
	if err != nil {
		t.logf("[warn] route %s ignored: %v", key, err)
		_, had := t.byKey[key]
		delete(t.byKey, key)
		return had
	}
	c := compile(key, rest, r)
	if old, ok := t.byKey[key]; ok && sameNodes(old.upstream.Nodes, c.upstream.Nodes) {
		c.lb = old.lb // keep the round-robin position across unrelated edits
	}
	t.byKey[key] = c
	return true
}

func compile(key, idFromKey string, r *route.Route) *compiled {
	c := &compiled{key: key, id: r.IDString(), priority: r.Priority, upstream: r.Upstream, lb: newWRR(r.Upstream.Nodes)}
	if c.id == "" {
		c.id = idFromKey
	}
	if r.Enabled() {
		c.uris = r.AllURIs()
	}
	for _, h := range r.AllHosts() {
		c.hosts = append(c.hosts, strings.ToLower(h))
	}
	if len(r.Methods) > 0 {
		c.methods = map[string]bool{}
		for _, m := range r.Methods {
			c.methods[m] = true
		}
	}
	return c
}

func sameNodes(a, b []route.Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// publishLocked rebuilds the match order: exact paths before prefixes, longer prefixes first,
// then higher priority, then routes bound to hosts before catch-alls, then key (stable).
func (t *Table) publishLocked() {
	var es []entry
	for _, c := range t.byKey {
		for _, u := range c.uris {
			e := entry{path: u, r: c}
			if strings.HasSuffix(u, "*") {
				e.path, e.prefix = strings.TrimSuffix(u, "*"), true
			}
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.prefix != b.prefix {
			return !a.prefix
		}
		if len(a.path) != len(b.path) {
			return len(a.path) > len(b.path)
		}
		if a.r.priority != b.r.priority {
			return a.r.priority > b.r.priority
		}
		if (len(a.r.hosts) > 0) != (len(b.r.hosts) > 0) {
			return len(a.r.hosts) > 0
		}
		if a.r.key != b.r.key {
			return a.r.key < b.r.key
		}
		return a.path < b.path
	})
	t.snap.Store(&es)
}

// Match finds the route for a request, or nil.
func (t *Table) Match(host, path, method string) *compiled {
	host = normalizeHost(host)
	for _, e := range *t.snap.Load() {
		if e.prefix {
			if !strings.HasPrefix(path, e.path) {
				continue
			}
		} else if path != e.path {
			continue
		}
		if e.r.methods != nil && !e.r.methods[method] {
			continue
		}
		if len(e.r.hosts) > 0 && !hostMatches(e.r.hosts, host) {
			continue
		}
		return e.r
	}
	return nil
}

func normalizeHost(h string) string {
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func hostMatches(hosts []string, host string) bool {
	for _, h := range hosts {
		if h == host {
			return true
		}
		if strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
			return true
		}
	}
	return false
}

// wrr is nginx's smooth weighted round robin.
type wrr struct {
	mu      sync.Mutex
	nodes   []route.Node
	current []int
}

func newWRR(nodes []route.Node) *wrr {
	return &wrr{nodes: nodes, current: make([]int, len(nodes))}
}

// order returns the nodes to try: the round-robin pick first, then the other nodes with a
// weight, in list order after it (the "try the next node" on connection errors).
func (w *wrr) order() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	total, best := 0, -1
	for i, n := range w.nodes {
		if n.Weight <= 0 {
			continue
		}
		w.current[i] += n.Weight
		total += n.Weight
		if best < 0 || w.current[i] > w.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	w.current[best] -= total
	out := make([]string, 0, len(w.nodes))
	for k := 0; k < len(w.nodes); k++ {
		n := w.nodes[(best+k)%len(w.nodes)]
		if n.Weight > 0 {
			out = append(out, n.Addr)
		}
	}
	return out
}
