package request_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/uuid"

	"agentplane/server/request"
)

var trusted = request.NewProxies([]netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fc00::/7"),
})

func TestProxiesClientIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		peer      string
		xff       []string
		forwarded []string
		useFwd    bool
		want      string // "" = invalid address
	}{
		{name: "no proxy headers", peer: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "untrusted peer: XFF ignored", peer: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "trusted peer: the client hop", peer: "127.0.0.1:5555", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "trusted peer: right-most untrusted hop", peer: "10.0.0.2:80",
			xff: []string{"1.1.1.1, 198.51.100.1, 10.0.0.9"}, want: "198.51.100.1"},
		{name: "spoofed left-most entry ignored", peer: "10.0.0.2:80",
			xff: []string{"6.6.6.6, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "several XFF headers joined in order", peer: "10.0.0.2:80",
			xff: []string{"6.6.6.6", "198.51.100.1, 10.0.0.3"}, want: "198.51.100.1"},
		{name: "all hops trusted: the first", peer: "10.0.0.2:80", xff: []string{"10.0.0.5, 10.0.0.6"}, want: "10.0.0.5"},
		{name: "hop with port", peer: "10.0.0.2:80", xff: []string{"198.51.100.1:4444"}, want: "198.51.100.1"},
		{name: "garbage XFF: the peer", peer: "10.0.0.2:80", xff: []string{"not-an-ip"}, want: "10.0.0.2"},
		{name: "garbage hop anywhere: the peer", peer: "10.0.0.2:80", xff: []string{"198.51.100.1, bogus, 10.0.0.3"}, want: "10.0.0.2"},
		{name: "empty XFF: the peer", peer: "10.0.0.2:80", xff: []string{""}, want: "10.0.0.2"},
		{name: "IPv6 peer untrusted", peer: "[2001:db8::1]:443", xff: []string{"198.51.100.1"}, want: "2001:db8::1"},
		{name: "IPv6 trusted peer and hop", peer: "[::1]:443", xff: []string{"2001:db8::5, fd00::1"}, want: "2001:db8::5"},
		{name: "bracketed IPv6 hop with port", peer: "[::1]:443", xff: []string{"[2001:db8::5]:1234"}, want: "2001:db8::5"},
		{name: "IPv4-mapped peer is trusted", peer: "[::ffff:127.0.0.1]:80", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "IPv4-mapped hop unmapped", peer: "127.0.0.1:80", xff: []string{"::ffff:198.51.100.1"}, want: "198.51.100.1"},
		{name: "Forwarded ignored unless asked", peer: "127.0.0.1:80", forwarded: []string{"for=198.51.100.1"}, want: "127.0.0.1"},
		{name: "Forwarded when asked", peer: "127.0.0.1:80", forwarded: []string{`for=198.51.100.1;proto=https`}, useFwd: true, want: "198.51.100.1"},
		{name: "Forwarded quoted IPv6 with port", peer: "127.0.0.1:80", forwarded: []string{`For="[2001:db8::7]:4711"`}, useFwd: true, want: "2001:db8::7"},
		{name: "Forwarded right-most untrusted", peer: "127.0.0.1:80",
			forwarded: []string{"for=6.6.6.6, for=198.51.100.1;by=10.0.0.1, for=10.0.0.4"}, useFwd: true, want: "198.51.100.1"},
		{name: "XFF wins over Forwarded", peer: "127.0.0.1:80", xff: []string{"198.51.100.2"},
			forwarded: []string{"for=198.51.100.1"}, useFwd: true, want: "198.51.100.2"},
		{name: "Forwarded from an untrusted peer ignored", peer: "203.0.113.7:1", forwarded: []string{"for=198.51.100.1"}, useFwd: true, want: "203.0.113.7"},
		{name: "Forwarded obfuscated identifier: the peer", peer: "127.0.0.1:80", forwarded: []string{"for=_hidden"}, useFwd: true, want: "127.0.0.1"},
		{name: "peer without port", peer: "203.0.113.7", want: "203.0.113.7"},
		{name: "unparsable peer", peer: "pipe", xff: []string{"198.51.100.1"}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.forwarded {
				r.Header.Add("Forwarded", v)
			}
			got := trusted.ClientIP(r, tc.useFwd)
			if tc.want == "" {
				if got.IsValid() {
					t.Errorf("got %v, want an invalid address", got)
				}
				return
			}
			if want := netip.MustParseAddr(tc.want); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// With no trusted networks every peer is the client.
func TestProxiesNoneTrusted(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := request.NewProxies(nil).ClientIP(r, true); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("got %v", got)
	}
}

func TestCorrelationIDFrom(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header http.Header
		want   string // "" = a fresh UUIDv4
	}{
		{name: "none", header: http.Header{}},
		{name: "correlation", header: http.Header{"X-Correlation-Id": {"a.B_c:d-1"}}, want: "a.B_c:d-1"},
		{name: "request id", header: http.Header{"X-Request-Id": {"r1"}}, want: "r1"},
		{name: "both: correlation wins", header: http.Header{"X-Correlation-Id": {"c"}, "X-Request-Id": {"r"}}, want: "c"},
		{name: "bad correlation, good request id", header: http.Header{"X-Correlation-Id": {"c c"}, "X-Request-Id": {"r"}}, want: "r"},
		{name: "128 chars", header: http.Header{"X-Correlation-Id": {strings.Repeat("x", 128)}}, want: strings.Repeat("x", 128)},
		{name: "129 chars", header: http.Header{"X-Correlation-Id": {strings.Repeat("x", 129)}}},
		{name: "non-ASCII", header: http.Header{"X-Correlation-Id": {"é"}}},
		{name: "injection", header: http.Header{"X-Correlation-Id": {"a\nb"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := request.CorrelationIDFrom(tc.header)
			if tc.want != "" {
				if got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				return
			}
			if u, err := uuid.Parse(got); err != nil || u.Version() != 4 || u.String() != got {
				t.Errorf("got %q, want a UUIDv4", got)
			}
		})
	}
}

func TestContextAccessors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, ok := request.CorrelationID(ctx); ok {
		t.Error("empty ctx has a correlation id")
	}
	if _, ok := request.ClientIP(ctx); ok {
		t.Error("empty ctx has a client IP")
	}
	ctx = request.WithCorrelationID(ctx, "cid")
	ctx = request.WithClientIP(ctx, netip.MustParseAddr("198.51.100.1"))
	if id, ok := request.CorrelationID(ctx); !ok || id != "cid" {
		t.Errorf("CorrelationID = %q, %v", id, ok)
	}
	if ip, ok := request.ClientIP(ctx); !ok || ip.String() != "198.51.100.1" {
		t.Errorf("ClientIP = %v, %v", ip, ok)
	}
}

// LogHandler adds correlation_id to ...Context records, also through With and WithGroup.
func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(request.LogHandler{Handler: slog.NewJSONHandler(&buf, nil)})
	ctx := request.WithCorrelationID(context.Background(), "cid-1")

	log.InfoContext(ctx, "plain")
	log.With("logger", "auth").InfoContext(ctx, "with")
	log.WithGroup("g").InfoContext(ctx, "group", "k", "v")
	log.InfoContext(context.Background(), "no id")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, want := range []bool{true, true, true, false} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		id, ok := m["correlation_id"]
		if g, gok := m["g"].(map[string]any); gok {
			id, ok = g["correlation_id"] // slog puts record attrs inside the open group
		}
		if ok != want || (want && id != "cid-1") {
			t.Errorf("line %d %s: correlation_id %v, want present=%v", i, lines[i], id, want)
		}
	}
}
