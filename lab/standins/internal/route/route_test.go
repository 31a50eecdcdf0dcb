package route

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRunbookRoute(t *testing.T) {
	r, err := Parse([]byte(`{"uri":"/get","host":"test.com","methods":["GET"],"upstream":{"type":"roundrobin","nodes":{"10.1.2.3:80":1,"10.1.2.4:80":2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{Addr: "10.1.2.3:80", Weight: 1}, {Addr: "10.1.2.4:80", Weight: 2}}
	if !reflect.DeepEqual(r.Upstream.Nodes, want) || r.AllHosts()[0] != "test.com" || !r.Enabled() {
		t.Fatalf("%+v", r)
	}
	r, err = Parse([]byte(`{"id":7,"uris":["/a","/b*"],"hosts":["a.com"],"upstream":{"scheme":"https","nodes":[{"host":"10.0.0.1","port":8443,"weight":1},{"host":"up.local"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.IDString() != "7" || r.Upstream.Nodes[1].Addr != "up.local:443" || r.Upstream.Nodes[1].Weight != 1 {
		t.Fatalf("%+v %+v", r, r.Upstream.Nodes)
	}
}

func TestParseRejects(t *testing.T) {
	for name, body := range map[string]string{
		"not json":     `{`,
		"no uri":       `{"upstream":{"nodes":{"a:1":1}}}`,
		"no upstream":  `{"uri":"/x"}`,
		"empty nodes":  `{"uri":"/x","upstream":{"nodes":{}}}`,
		"empty list":   `{"uri":"/x","upstream":{"nodes":[]}}`,
		"bad node":     `{"uri":"/x","upstream":{"nodes":{"a:b:c":1}}}`,
		"bad port":     `{"uri":"/x","upstream":{"nodes":{"a:99999":1}}}`,
		"bad weight":   `{"uri":"/x","upstream":{"nodes":{"a:1":"x"}}}`,
		"neg weight":   `{"uri":"/x","upstream":{"nodes":{"a:1":-1}}}`,
		"bad method":   `{"uri":"/x","methods":["FETCH"],"upstream":{"nodes":{"a:1":1}}}`,
		"rel uri":      `{"uri":"x","upstream":{"nodes":{"a:1":1}}}`,
		"host+hosts":   `{"uri":"/x","host":"a","hosts":["b"],"upstream":{"nodes":{"a:1":1}}}`,
		"bad type":     `{"uri":"/x","upstream":{"type":"random","nodes":{"a:1":1}}}`,
		"rewrite-host": `{"uri":"/x","upstream":{"pass_host":"rewrite","nodes":{"a:1":1}}}`,
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "invalid route") {
			t.Errorf("%s: message %q should start with 'invalid route'", name, err)
		}
	}
}
