// Package echo is an httpbin-like upstream, enough for the runbook's last check
// (`curl $gateway/get -H "Host: test.com"` answering with the request it saw).
package echo

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"api7ha.local/standins/internal/httpx"
)

// maxDelay caps /delay/{n} like httpbin.
const maxDelay = 10

// Handler returns the httpbin-like API.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, base(r))
	})
	mux.HandleFunc("/anything", anything)
	mux.HandleFunc("/anything/", anything)
	mux.HandleFunc("GET /headers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"headers": headers(r)})
	})
	mux.HandleFunc("GET /ip", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"origin": origin(r)})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 599 {
			http.Error(w, "invalid status code", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/delay/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseFloat(r.PathValue("n"), 64)
		if err != nil || n < 0 {
			http.Error(w, "invalid delay", http.StatusBadRequest)
			return
		}
		n = min(n, maxDelay)
		select {
		case <-time.After(time.Duration(n * float64(time.Second))):
		case <-r.Context().Done():
			return
		}
		writeJSON(w, http.StatusOK, base(r))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "standin echo: try /get, /anything, /headers, /ip, /status/{code}, /delay/{n}\n")
	})
	return mux
}

func anything(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	out := base(r)
	out["method"] = r.Method
	out["data"] = string(body)
	var j any
	if json.Unmarshal(body, &j) == nil {
		out["json"] = j
	} else {
		out["json"] = nil
	}
	form := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if vals, err := parseQuery(string(body)); err == nil {
			form = vals
		}
	}
	out["form"] = form
	writeJSON(w, http.StatusOK, out)
}

func base(r *http.Request) map[string]any {
	args, _ := parseQuery(r.URL.RawQuery)
	return map[string]any{
		"args":    args,
		"headers": headers(r),
		"origin":  origin(r),
		"url":     "http://" + r.Host + r.URL.RequestURI(),
	}
}

// parseQuery returns single values as strings and repeated ones as lists, as httpbin does.
func parseQuery(q string) (map[string]any, error) {
	vals, err := url.ParseQuery(q)
	out := map[string]any{}
	for k, v := range vals {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = v
		}
	}
	return out, err
}

// headers uses canonical names and one value per name (repeats joined with ","), with Host
// included like httpbin.
func headers(r *http.Request) map[string]string {
	out := map[string]string{"Host": r.Host}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[http.CanonicalHeaderKey(k)] = strings.Join(r.Header[k], ",")
	}
	return out
}

// origin is the peer address, followed by the X-Forwarded-For chain the request carried.
func origin(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if xff := strings.TrimSpace(r.Header.Get("X-Forwarded-For")); xff != "" {
		return ip + ", " + xff
	}
	return ip
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Main runs `standin echo`.
func Main(args []string) int {
	fs := httpx.NewFlagSet("echo")
	listen := fs.String("listen", "0.0.0.0:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(os.Stdout, "", log.LstdFlags)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: cannot listen on %s: %v\n", *listen, err)
		return 1
	}
	logger.Printf("[info] echo upstream listening on %s", ln.Addr())
	hs := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	return httpx.ServeUntilSignal(logger, nil, httpx.Listener{Server: hs, Ln: ln})
}
