package echo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGetEchoesRequest(t *testing.T) {
	ts := httptest.NewServer(Handler())
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/get?a=1&b=2&b=3", nil)
	req.Host = "test.com"
	req.Header.Set("X-Forwarded-For", "10.9.9.9")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		Args    map[string]any
		Headers map[string]string
		Origin  string
		URL     string
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://test.com/get?a=1&b=2&b=3" || got.Origin != "127.0.0.1, 10.9.9.9" || got.Headers["Host"] != "test.com" || got.Headers["X-Multi"] != "1,2" {
		t.Fatalf("%+v", got)
	}
	if got.Args["a"] != "1" || len(got.Args["b"].([]any)) != 2 {
		t.Fatalf("args %+v", got.Args)
	}
}

func TestAnythingStatusAndDelay(t *testing.T) {
	ts := httptest.NewServer(Handler())
	defer ts.Close()
	res, err := http.Post(ts.URL+"/anything/x", "application/json", strings.NewReader(`{"k":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"method": "POST"`) || !strings.Contains(string(body), `"k": 1`) {
		t.Fatalf("anything: %s", body)
	}
	for path, want := range map[string]int{"/status/418": 418, "/status/x": 400, "/delay/0": 200, "/headers": 200, "/ip": 200} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d want %d", path, res.StatusCode, want)
		}
	}
}
