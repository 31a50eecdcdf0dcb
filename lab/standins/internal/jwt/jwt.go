// Package jwt signs and verifies the HS256 tokens the dashboard hands out at login, as
// apisix-dashboard does with authentication.secret. Two dashboards accept each other's
// tokens exactly when they share the secret (apache/apisix-dashboard#2446).
package jwt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Claims are the standard claims apisix-dashboard puts in its tokens.
type Claims struct {
	Subject   string `json:"sub"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	NotBefore int64  `json:"nbf,omitempty"`
}

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("jwt: malformed token")
	ErrAlgorithm = errors.New("jwt: unexpected signing algorithm")
	ErrSignature = errors.New("jwt: signature does not match")
	ErrExpired   = errors.New("jwt: token expired")
	ErrNotYet    = errors.New("jwt: token not valid yet")
)

var enc = base64.RawURLEncoding

// Sign returns header.payload.signature for claims.
func Sign(secret []byte, c Claims) string {
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(c) // plain struct of strings and ints: cannot fail
	signing := header + "." + enc.EncodeToString(payload)
	return signing + "." + enc.EncodeToString(mac(secret, signing))
}

// Issue signs a token for user valid for ttl from now.
func Issue(secret []byte, user string, now time.Time, ttl time.Duration) string {
	return Sign(secret, Claims{Subject: user, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()})
}

// Verify checks the signature (constant time), the algorithm and exp/nbf against now.
func Verify(secret []byte, token string, now time.Time) (*Claims, error) {
	token = strings.TrimSpace(strings.TrimPrefix(token, "Bearer "))
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, ErrMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &h) != nil {
		return nil, ErrMalformed
	}
	if h.Alg != "HS256" {
		return nil, ErrAlgorithm
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	if !hmac.Equal(sig, mac(secret, parts[0]+"."+parts[1])) {
		return nil, ErrSignature
	}
	pb, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, ErrMalformed
	}
	var c Claims
	if json.Unmarshal(pb, &c) != nil {
		return nil, ErrMalformed
	}
	if c.ExpiresAt == 0 || now.Unix() >= c.ExpiresAt {
		return nil, ErrExpired
	}
	if c.NotBefore != 0 && now.Unix() < c.NotBefore {
		return nil, ErrNotYet
	}
	return &c, nil
}

func mac(secret []byte, s string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s))
	return m.Sum(nil)
}
