// Package httpx holds the serving plumbing the stand-ins share: flag sets, and running
// servers until SIGTERM with a short graceful drain.
package httpx

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// DrainTimeout is how long in-flight requests may finish after SIGTERM. docker stop waits
// 10 s before SIGKILL; an operator's failover drill wants the process gone in about a second.
const DrainTimeout = 900 * time.Millisecond

// NewFlagSet returns a flag set that reports its own errors (Go's flag package accepts both
// -flag and --flag, which covers `--flavor` and `--listen`).
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// Listener pairs a bound listener with the server for it.
type Listener struct {
	Server *http.Server
	Ln     net.Listener
}

// ServeUntilSignal serves every listener until SIGTERM/SIGINT, then shuts all of them down
// together: stop accepting, drain for DrainTimeout, close the rest. A listener that fails
// ends the process with exit code 1 (the restart policy brings it back).
func ServeUntilSignal(logger *log.Logger, onStop func(), ls ...Listener) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func(l Listener) { errc <- l.Server.Serve(l.Ln) }(l)
	}
	code := 0
	select {
	case err := <-errc:
		logger.Printf("[error] serve: %v", err)
		code = 1
	case s := <-sig:
		logger.Printf("[warn] %v received, shutting down", s)
	}
	if onStop != nil {
		onStop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func(hs *http.Server) {
			defer wg.Done()
			if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				logger.Printf("[warn] shutdown: %v", err)
			}
			_ = hs.Close()
		}(l.Server)
	}
	wg.Wait()
	return code
}
