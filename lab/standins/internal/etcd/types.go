package etcd

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Int64 decodes etcd's gRPC-gateway integers, which arrive as JSON strings ("revision":"12")
// because proto3's JSON mapping encodes int64 that way; plain numbers are accepted too.
type Int64 int64

// UnmarshalJSON accepts "12", 12 and null.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*n = Int64(v)
	return nil
}

// Header is etcd's ResponseHeader; only the revision matters to the stand-ins.
type Header struct {
	Revision Int64 `json:"revision"`
}

// KV is one key-value pair. []byte fields are base64 in JSON, as the gateway expects.
type KV struct {
	Key            []byte `json:"key"`
	Value          []byte `json:"value"`
	CreateRevision Int64  `json:"create_revision"`
	ModRevision    Int64  `json:"mod_revision"`
	Version        Int64  `json:"version"`
}

// RangeRequest mirrors etcdserverpb.RangeRequest (the fields the stand-ins use).
type RangeRequest struct {
	Key          []byte `json:"key"`
	RangeEnd     []byte `json:"range_end,omitempty"`
	Limit        int64  `json:"limit,omitempty"`
	Revision     int64  `json:"revision,omitempty"`
	Serializable bool   `json:"serializable,omitempty"`
	KeysOnly     bool   `json:"keys_only,omitempty"`
	CountOnly    bool   `json:"count_only,omitempty"`
}

// RangeResponse mirrors etcdserverpb.RangeResponse.
type RangeResponse struct {
	Header Header `json:"header"`
	Kvs    []KV   `json:"kvs"`
	More   bool   `json:"more"`
	Count  Int64  `json:"count"`
}

// PutRequest mirrors etcdserverpb.PutRequest.
type PutRequest struct {
	Key    []byte `json:"key"`
	Value  []byte `json:"value"`
	PrevKV bool   `json:"prev_kv,omitempty"`
}

// PutResponse mirrors etcdserverpb.PutResponse.
type PutResponse struct {
	Header Header `json:"header"`
	PrevKV *KV    `json:"prev_kv,omitempty"`
}

// DeleteRangeRequest mirrors etcdserverpb.DeleteRangeRequest.
type DeleteRangeRequest struct {
	Key      []byte `json:"key"`
	RangeEnd []byte `json:"range_end,omitempty"`
}

// DeleteRangeResponse mirrors etcdserverpb.DeleteRangeResponse.
type DeleteRangeResponse struct {
	Header  Header `json:"header"`
	Deleted Int64  `json:"deleted"`
}

// WatchCreateRequest is the body of POST /v3/watch ({"create_request": {...}}).
type WatchCreateRequest struct {
	Key            []byte `json:"key"`
	RangeEnd       []byte `json:"range_end,omitempty"`
	StartRevision  int64  `json:"start_revision,omitempty"`
	ProgressNotify bool   `json:"progress_notify,omitempty"`
}

// Event is one watch event. The gateway omits "type" for PUT (the proto3 zero value).
type Event struct {
	Type string `json:"type"`
	KV   KV     `json:"kv"`
}

// IsDelete reports whether the event removed its key.
func (e Event) IsDelete() bool { return e.Type == "DELETE" }

// WatchResponse is one message of the watch stream (the "result" member).
type WatchResponse struct {
	Header          Header  `json:"header"`
	Created         bool    `json:"created"`
	Canceled        bool    `json:"canceled"`
	CompactRevision Int64   `json:"compact_revision"`
	CancelReason    string  `json:"cancel_reason"`
	Events          []Event `json:"events"`
}

type authRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type authResponse struct {
	Token string `json:"token"`
}

// apiError is the gateway's error body: {"error": "...", "message": "...", "code": 14}.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// PrefixEnd returns the range_end that selects every key starting with prefix
// (clientv3.GetPrefixRangeEnd).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	// All 0xff: select to the end of the keyspace.
	return []byte{0}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on the package's own request structs
	}
	return b
}
