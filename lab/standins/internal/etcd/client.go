// Package etcd is a small etcd v3 client over etcd's JSON gRPC-gateway (POST /v3/kv/range, ...),
// the protocol APISIX's lua-resty-etcd speaks. It keeps the stand-in binary small: no gRPC, no
// clientv3. Every unary call tries the endpoints in turn, starting from the last one that
// answered, with a short dial timeout and a bounded per-attempt timeout, so a stopped or
// partitioned member costs at most one attempt.
package etcd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults chosen so that a request over three endpoints, one of them black-holed, still
// finishes well inside the ~6 s the dashboard may take before answering 503.
const (
	DefaultDialTimeout    = 500 * time.Millisecond
	DefaultAttemptTimeout = 1700 * time.Millisecond
	DefaultTotalTimeout   = 5500 * time.Millisecond
)

// gRPC status codes that the gateway reports in "code".
const (
	codeInvalidArgument = 3
	codeUnauthenticated = 16
)

// Config says where etcd is and how to authenticate.
type Config struct {
	Endpoints      []string
	Username       string
	Password       string
	TLS            *tls.Config // nil: plain HTTP for endpoints without a scheme
	DialTimeout    time.Duration
	AttemptTimeout time.Duration
	TotalTimeout   time.Duration
}

// Error is an answer from an etcd member (as opposed to a transport failure).
type Error struct {
	Endpoint   string
	HTTPStatus int
	Code       int
	Message    string
}

func (e *Error) Error() string { return e.Message }

// retryable: 5xx means "this member cannot serve now" (no leader, timeout); 4xx is our fault
// and another member would say the same.
func (e *Error) retryable() bool { return e.HTTPStatus >= 500 }

// authProblem: the token expired (simple tokens live 5 minutes) or auth was enabled after we
// last authenticated.
func (e *Error) authProblem() bool {
	return e.Code == codeUnauthenticated ||
		(e.Code == codeInvalidArgument && strings.Contains(e.Message, "user name is empty"))
}

// UnavailableError means no endpoint answered.
type UnavailableError struct{ Errs []error }

func (e *UnavailableError) Error() string {
	parts := make([]string, 0, len(e.Errs))
	for _, err := range e.Errs {
		parts = append(parts, err.Error())
	}
	if len(parts) == 0 {
		return "no etcd endpoint answered"
	}
	return "no etcd endpoint answered: " + strings.Join(parts, "; ")
}

type tokenState struct {
	token string
	ok    bool // authenticated (or auth found disabled: token "")
}

// Client talks to one etcd cluster.
type Client struct {
	cfg    Config
	eps    []string
	unary  *http.Client
	stream *http.Client

	mu     sync.Mutex
	last   int
	tokens []tokenState
}

// New validates cfg and fills in defaults.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints configured")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.TotalTimeout <= 0 {
		cfg.TotalTimeout = DefaultTotalTimeout
	}
	eps := make([]string, 0, len(cfg.Endpoints))
	for _, ep := range cfg.Endpoints {
		n, err := NormalizeEndpoint(ep, cfg.TLS != nil)
		if err != nil {
			return nil, err
		}
		eps = append(eps, n)
	}
	return &Client{
		cfg:    cfg,
		eps:    eps,
		unary:  &http.Client{Transport: newTransport(cfg)},
		stream: &http.Client{Transport: newTransport(cfg)},
		tokens: make([]tokenState, len(eps)),
	}, nil
}

func newTransport(cfg Config) *http.Transport {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 10 * time.Second}
	return &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: cfg.AttemptTimeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

// NormalizeEndpoint turns "10.0.0.1:2379" into "http://10.0.0.1:2379" (https when TLS is on)
// and keeps explicit schemes.
func NormalizeEndpoint(ep string, useTLS bool) (string, error) {
	ep = strings.TrimSpace(ep)
	ep = strings.TrimRight(ep, "/")
	if ep == "" {
		return "", errors.New("etcd: empty endpoint")
	}
	switch {
	case strings.HasPrefix(ep, "http://"), strings.HasPrefix(ep, "https://"):
		return ep, nil
	case strings.Contains(ep, "://"):
		return "", fmt.Errorf("etcd: endpoint %q: only http:// and https:// are supported", ep)
	case useTLS:
		return "https://" + ep, nil
	default:
		return "http://" + ep, nil
	}
}

// Endpoints returns the normalized endpoint URLs.
func (c *Client) Endpoints() []string { return append([]string(nil), c.eps...) }

// LastGood is the index of the endpoint that answered last.
func (c *Client) LastGood() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *Client) setLastGood(i int) {
	c.mu.Lock()
	c.last = i
	c.mu.Unlock()
}

// Range reads keys (linearizable unless req.Serializable).
func (c *Client) Range(ctx context.Context, req RangeRequest) (*RangeResponse, error) {
	var resp RangeResponse
	if err := c.Do(ctx, "/v3/kv/range", req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Put writes one key.
func (c *Client) Put(ctx context.Context, key, value []byte) (*PutResponse, error) {
	var resp PutResponse
	if err := c.Do(ctx, "/v3/kv/put", PutRequest{Key: key, Value: value}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Delete removes key (or [key, rangeEnd)).
func (c *Client) Delete(ctx context.Context, key, rangeEnd []byte) (*DeleteRangeResponse, error) {
	var resp DeleteRangeResponse
	if err := c.Do(ctx, "/v3/kv/deleterange", DeleteRangeRequest{Key: key, RangeEnd: rangeEnd}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Do runs one unary call, trying every endpoint once starting from the last good one.
// Errors that another member would repeat (4xx) are returned at once.
func (c *Client) Do(ctx context.Context, path string, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TotalTimeout)
	defer cancel()
	start := c.LastGood()
	var errs []error
	for i := range c.eps {
		idx := (start + i) % len(c.eps)
		err := c.DoOn(ctx, idx, path, req, resp)
		if err == nil {
			c.setLastGood(idx)
			return nil
		}
		var ee *Error
		if errors.As(err, &ee) && !ee.retryable() {
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.eps[idx], err))
		if ctx.Err() != nil {
			break
		}
	}
	return &UnavailableError{Errs: errs}
}

// DoOn runs one call against endpoint idx only, bounded by the per-attempt timeout.
func (c *Client) DoOn(ctx context.Context, idx int, path string, req, resp any) error {
	return c.DoOnTimeout(ctx, idx, c.cfg.AttemptTimeout, path, req, resp)
}

// DoOnTimeout is DoOn with an explicit timeout (the gateway's 1 s liveness probe).
func (c *Client) DoOnTimeout(ctx context.Context, idx int, timeout time.Duration, path string, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	token, err := c.token(ctx, idx)
	if err != nil {
		return err
	}
	err = c.post(ctx, idx, path, token, req, resp)
	var ee *Error
	if errors.As(err, &ee) && ee.authProblem() && c.cfg.Username != "" {
		c.dropToken(idx)
		if token, err = c.token(ctx, idx); err != nil {
			return err
		}
		err = c.post(ctx, idx, path, token, req, resp)
	}
	return err
}

func (c *Client) post(ctx context.Context, idx int, path, token string, req, resp any) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.eps[idx]+path, bytes.NewReader(mustJSON(req)))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", token)
	}
	res, err := c.unary.Do(hr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return decodeError(c.eps[idx], res.StatusCode, data)
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("etcd: bad response from %s%s: %w", c.eps[idx], path, err)
	}
	return nil
}

func decodeError(ep string, status int, data []byte) *Error {
	var ae apiError
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &ae) == nil {
		if ae.Message != "" {
			msg = ae.Message
		} else if ae.Error != "" {
			msg = ae.Error
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Endpoint: ep, HTTPStatus: status, Code: ae.Code, Message: msg}
}

// token returns the auth token for endpoint idx, authenticating on first use. Tokens are kept
// per endpoint: etcd's simple tokens are replicated through raft, but a member that was
// partitioned when the token was issued may not know it yet.
func (c *Client) token(ctx context.Context, idx int) (string, error) {
	if c.cfg.Username == "" {
		return "", nil
	}
	c.mu.Lock()
	st := c.tokens[idx]
	c.mu.Unlock()
	if st.ok {
		return st.token, nil
	}
	var resp authResponse
	err := c.post(ctx, idx, "/v3/auth/authenticate", "", authRequest{Name: c.cfg.Username, Password: c.cfg.Password}, &resp)
	var ee *Error
	switch {
	case errors.As(err, &ee) && strings.Contains(ee.Message, "authentication is not enabled"):
		// A user was configured but the cluster runs without auth: carry on without a token,
		// as lua-resty-etcd does.
		resp.Token = ""
	case err != nil:
		return "", err
	}
	c.mu.Lock()
	c.tokens[idx] = tokenState{token: resp.Token, ok: true}
	c.mu.Unlock()
	return resp.Token, nil
}

func (c *Client) dropToken(idx int) {
	c.mu.Lock()
	c.tokens[idx] = tokenState{}
	c.mu.Unlock()
}

// WatchStream is one open /v3/watch stream.
type WatchStream struct {
	Endpoint int
	body     io.ReadCloser
	dec      *json.Decoder
	cancel   context.CancelFunc
}

// ErrWatchCanceled is returned when etcd cancels the watch (compaction, auth).
type ErrWatchCanceled struct {
	CompactRevision int64
	Reason          string
}

func (e *ErrWatchCanceled) Error() string {
	if e.CompactRevision > 0 {
		return fmt.Sprintf("etcd: watch canceled: required revision has been compacted (compact revision %d)", e.CompactRevision)
	}
	return "etcd: watch canceled: " + e.Reason
}

// Watch opens a watch on endpoint idx and waits (at most the attempt timeout) for etcd to
// confirm it. The stream lives until ctx is done or Close is called.
func (c *Client) Watch(ctx context.Context, idx int, req WatchCreateRequest) (*WatchStream, error) {
	ws, err := c.openWatch(ctx, idx, req)
	var wc *ErrWatchCanceled
	if errors.As(err, &wc) && wc.CompactRevision == 0 && c.cfg.Username != "" {
		// Most likely an expired token: the gateway reports it as a canceled watch.
		c.dropToken(idx)
		ws, err = c.openWatch(ctx, idx, req)
	}
	return ws, err
}

func (c *Client) openWatch(ctx context.Context, idx int, req WatchCreateRequest) (*WatchStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.cfg.AttemptTimeout, cancel)
	fail := func(err error) (*WatchStream, error) {
		timer.Stop()
		cancel()
		return nil, err
	}
	tctx, tcancel := context.WithTimeout(sctx, c.cfg.AttemptTimeout)
	token, err := c.token(tctx, idx)
	tcancel()
	if err != nil {
		return fail(err)
	}
	body := mustJSON(map[string]any{"create_request": req})
	hr, err := http.NewRequestWithContext(sctx, http.MethodPost, c.eps[idx]+"/v3/watch", bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", token)
	}
	res, err := c.stream.Do(hr)
	if err != nil {
		return fail(err)
	}
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		return fail(decodeError(c.eps[idx], res.StatusCode, data))
	}
	ws := &WatchStream{Endpoint: idx, body: res.Body, dec: json.NewDecoder(res.Body), cancel: cancel}
	first, err := ws.Next()
	if err != nil {
		ws.Close()
		return fail(err)
	}
	if !timer.Stop() {
		ws.Close()
		return fail(context.DeadlineExceeded)
	}
	if !first.Created {
		ws.Close()
		return fail(fmt.Errorf("etcd: watch on %s: first message was not a creation", c.eps[idx]))
	}
	return ws, nil
}

// Next blocks for the next message. Canceled watches come back as *ErrWatchCanceled.
func (ws *WatchStream) Next() (*WatchResponse, error) {
	var msg struct {
		Result *WatchResponse `json:"result"`
		Error  *struct {
			GRPCCode int    `json:"grpc_code"`
			HTTPCode int    `json:"http_code"`
			Message  string `json:"message"`
		} `json:"error"`
	}
	if err := ws.dec.Decode(&msg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if msg.Error != nil {
		return nil, &Error{HTTPStatus: msg.Error.HTTPCode, Code: msg.Error.GRPCCode, Message: msg.Error.Message}
	}
	if msg.Result == nil {
		return nil, errors.New("etcd: empty watch message")
	}
	if msg.Result.Canceled {
		return nil, &ErrWatchCanceled{CompactRevision: int64(msg.Result.CompactRevision), Reason: msg.Result.CancelReason}
	}
	return msg.Result, nil
}

// Close ends the stream.
func (ws *WatchStream) Close() {
	ws.cancel()
	ws.body.Close()
}
