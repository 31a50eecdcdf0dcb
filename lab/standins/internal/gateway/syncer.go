package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"api7ha.local/standins/internal/etcd"
)

// Timings of the etcd sync loop. The probe is what notices a watch that is still open but
// dead: a member that lost quorum or was partitioned keeps its HTTP stream up and simply
// sends nothing more.
const (
	probeInterval = 2 * time.Second
	probeTimeout  = 1 * time.Second
	backoffMin    = 100 * time.Millisecond
	backoffMax    = 1 * time.Second
)

// Syncer keeps a Table in step with etcd: one full load, then a watch from the loaded
// revision, moved to the next endpoint whenever the current one fails.
type Syncer struct {
	client *etcd.Client
	prefix []byte // routes prefix "{prefix}/routes/"
	table  *Table
	logf   func(format string, args ...any)

	rev       atomic.Int64 // every event up to rev has been applied
	modIndex  atomic.Int64 // highest mod_revision seen under routes
	reachable atomic.Bool
	loaded    atomic.Bool
	endpoint  atomic.Int64 // index of the endpoint the watch is on

	warnMu   sync.Mutex
	lastWarn time.Time
	quiet    int
}

// NewSyncer wires a syncer; nothing happens until Load.
func NewSyncer(c *etcd.Client, routesPrefix string, t *Table, logf func(string, ...any)) *Syncer {
	return &Syncer{client: c, prefix: []byte(routesPrefix), table: t, logf: logf}
}

// Revision is the revision the table reflects.
func (s *Syncer) Revision() int64 { return s.rev.Load() }

// ModifyIndex is the highest mod_revision seen under the routes prefix.
func (s *Syncer) ModifyIndex() int64 { return s.modIndex.Load() }

// Reachable tells whether the watch is currently on a healthy member.
func (s *Syncer) Reachable() bool { return s.reachable.Load() }

// Loaded tells whether routes were loaded from etcd at least once.
func (s *Syncer) Loaded() bool { return s.loaded.Load() }

// Load reads every route (a linearizable range through any endpoint that answers).
func (s *Syncer) Load(ctx context.Context) error {
	resp, err := s.client.Range(ctx, etcd.RangeRequest{Key: s.prefix, RangeEnd: etcd.PrefixEnd(s.prefix)})
	if err != nil {
		return err
	}
	s.table.Replace(resp.Kvs)
	var maxMod int64
	for _, kv := range resp.Kvs {
		maxMod = max(maxMod, int64(kv.ModRevision))
	}
	s.modIndex.Store(max(s.modIndex.Load(), maxMod))
	s.rev.Store(int64(resp.Header.Revision))
	s.endpoint.Store(int64(s.client.LastGood()))
	s.loaded.Store(true)
	s.reachable.Store(true)
	return nil
}

// ApplyWatchResponse applies one watch message and advances the revision.
func (s *Syncer) ApplyWatchResponse(wr *etcd.WatchResponse) int {
	changed := s.table.Apply(wr.Events)
	for _, ev := range wr.Events {
		mod := int64(ev.KV.ModRevision)
		if mod > s.rev.Load() {
			s.rev.Store(mod)
		}
		if mod > s.modIndex.Load() {
			s.modIndex.Store(mod)
		}
	}
	if len(wr.Events) == 0 && !wr.Created && int64(wr.Header.Revision) > s.rev.Load() {
		// A progress notification: everything up to header.revision has been sent.
		s.rev.Store(int64(wr.Header.Revision))
	}
	return changed
}

// Run watches until ctx is done. While etcd is unreachable the table keeps serving what it
// has (apache/apisix#8702); the loop retries with a backoff capped at one second.
func (s *Syncer) Run(ctx context.Context) {
	n := len(s.client.Endpoints())
	idx := int(s.endpoint.Load())
	backoff := backoffMin
	for ctx.Err() == nil {
		healthy, err := s.watchOnce(ctx, idx)
		if ctx.Err() != nil {
			return
		}
		if healthy {
			backoff = backoffMin
		}
		var wc *etcd.ErrWatchCanceled
		if errors.As(err, &wc) && wc.CompactRevision > 0 {
			s.logf("[warn] etcd watch: revision %d compacted (at %d), reloading all routes", s.rev.Load()+1, wc.CompactRevision)
			if lerr := s.Load(ctx); lerr == nil {
				idx = int(s.endpoint.Load())
				continue
			} else {
				err = lerr
			}
		}
		s.reachable.Store(false)
		next := (idx + 1) % n
		s.warn("[warn] etcd watch on %s failed: %v; switching to %s", s.client.Endpoints()[idx], err, s.client.Endpoints()[next])
		idx = next
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, backoffMax)
	}
}

// watchOnce runs one watch on endpoint idx until it fails; healthy reports whether the watch
// was established (so the caller resets its backoff).
func (s *Syncer) watchOnce(ctx context.Context, idx int) (healthy bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws, err := s.client.Watch(wctx, idx, etcd.WatchCreateRequest{
		Key: s.prefix, RangeEnd: etcd.PrefixEnd(s.prefix), StartRevision: s.rev.Load() + 1, ProgressNotify: true,
	})
	if err != nil {
		return false, err
	}
	defer ws.Close()
	// Creating a watch needs no quorum: a member cut off from the majority accepts it and then
	// sends nothing. Check it can serve a linearizable read before trusting it.
	if err := s.probe(wctx, idx); err != nil {
		return false, fmt.Errorf("liveness probe failed: %w", err)
	}
	if !s.reachable.Load() {
		s.logf("[info] etcd watch resumed on %s from revision %d", s.client.Endpoints()[idx], s.rev.Load()+1)
		s.resetWarn()
	}
	s.endpoint.Store(int64(idx))
	s.reachable.Store(true)

	probeErr := make(chan error, 1)
	go func() {
		t := time.NewTicker(probeInterval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			if err := s.probe(wctx, idx); err != nil {
				if wctx.Err() == nil {
					probeErr <- err
					cancel()
				}
				return
			}
		}
	}()

	for {
		wr, err := ws.Next()
		if err != nil {
			select {
			case perr := <-probeErr:
				return true, fmt.Errorf("liveness probe failed: %w", perr)
			default:
				return true, err
			}
		}
		if changed := s.ApplyWatchResponse(wr); changed > 0 {
			s.logf("[info] routes updated from etcd: %d change(s), %d route(s) loaded, revision %d", changed, s.table.Len(), s.rev.Load())
		}
	}
}

// probe is the liveness check: a linearizable range with limit 1 on the watch's endpoint.
func (s *Syncer) probe(ctx context.Context, idx int) error {
	req := etcd.RangeRequest{Key: s.prefix, RangeEnd: etcd.PrefixEnd(s.prefix), Limit: 1, KeysOnly: true}
	return s.client.DoOnTimeout(ctx, idx, probeTimeout, "/v3/kv/range", req, nil)
}

// warn logs at most one line every 10 s while etcd stays broken, so an outage does not flood
// the container log, and says how many lines it held back.
func (s *Syncer) warn(format string, args ...any) {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	if time.Since(s.lastWarn) < 10*time.Second {
		s.quiet++
		return
	}
	if s.quiet > 0 {
		format += fmt.Sprintf(" (%d similar message(s) suppressed)", s.quiet)
	}
	s.lastWarn, s.quiet = time.Now(), 0
	s.logf(format, args...)
}

func (s *Syncer) resetWarn() {
	s.warnMu.Lock()
	s.lastWarn, s.quiet = time.Time{}, 0
	s.warnMu.Unlock()
}
