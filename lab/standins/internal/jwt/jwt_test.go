package jwt

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tok := Issue([]byte("secret-a"), "admin", now, time.Hour)
	c, err := Verify([]byte("secret-a"), tok, now.Add(time.Minute))
	if err != nil || c.Subject != "admin" || c.ExpiresAt != now.Add(time.Hour).Unix() {
		t.Fatalf("claims %+v err %v", c, err)
	}
	// Two dashboards with different secrets reject each other's tokens (apisix-dashboard#2446).
	if _, err := Verify([]byte("secret-b"), tok, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("other secret: %v", err)
	}
	if _, err := Verify([]byte("secret-a"), tok, now.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := Verify([]byte("secret-a"), "Bearer "+tok, now); err != nil {
		t.Fatalf("Bearer prefix: %v", err)
	}
}

func TestVerifyRejectsMalformedAndAlgNone(t *testing.T) {
	now := time.Now()
	for _, tok := range []string{"", "a.b", "a.b.c.d", "!!.!!.!!"} {
		if _, err := Verify([]byte("s"), tok, now); err == nil {
			t.Errorf("%q accepted", tok)
		}
	}
	// alg "none" with an empty signature must never pass.
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","exp":9999999999}`))
	if _, err := Verify([]byte("s"), h+"."+p+".", now); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("alg none: %v", err)
	}
	// A tampered payload breaks the signature.
	tok := Issue([]byte("s"), "admin", now, time.Hour)
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root","exp":9999999999}`))
	if _, err := Verify([]byte("s"), strings.Join(parts, "."), now); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered: %v", err)
	}
}
