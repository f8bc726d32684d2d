// Package request holds what the HTTP layer learns about a request before
// any handler runs (correlation id, client IP, user agent) and hands it to
// the areas through typed context accessors (spec: http-api.md §1.8, §1.9).
package request

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Info is what the server learns about a request before any handler runs.
type Info struct {
	CorrelationID string
	ClientIP      netip.Addr
}

type infoKey struct{}

// WithInfo returns ctx carrying info (one context value for all of it).
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

func infoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// correlationRe is what an inbound X-Correlation-ID / X-Request-ID must match
// to be reused (http-api.md §4 note 29).
var correlationRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// CorrelationIDFrom picks the inbound correlation id when it is well formed,
// else generates a UUIDv4.
func CorrelationIDFrom(h http.Header) string {
	for _, name := range []string{"X-Correlation-Id", "X-Request-Id"} { // canonical forms
		if v := h[name]; len(v) > 0 && correlationRe.MatchString(v[0]) {
			return v[0]
		}
	}
	return newUUID()
}

// newUUID is a random (version 4) UUID from math/rand/v2's per-thread
// ChaCha8 stream: unpredictable enough for a correlation id, and without the
// crypto/rand read per request that uuid.NewString makes.
func newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return uuid.UUID(b).String()
}

// WithCorrelationID returns ctx carrying id (and any client IP it had).
func WithCorrelationID(ctx context.Context, id string) context.Context {
	info := Info{CorrelationID: id}
	if old := infoFrom(ctx); old != nil {
		info.ClientIP = old.ClientIP
	}
	return WithInfo(ctx, &info)
}

// CorrelationID returns the request's correlation id, if any.
func CorrelationID(ctx context.Context) (string, bool) {
	if info := infoFrom(ctx); info != nil && info.CorrelationID != "" {
		return info.CorrelationID, true
	}
	return "", false
}

// WithClientIP returns ctx carrying the resolved client address (and any
// correlation id it had).
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	info := Info{ClientIP: ip}
	if old := infoFrom(ctx); old != nil {
		info.CorrelationID = old.CorrelationID
	}
	return WithInfo(ctx, &info)
}

// ClientIP returns the client address resolved by the server (see Proxies).
func ClientIP(ctx context.Context) (netip.Addr, bool) {
	if info := infoFrom(ctx); info != nil && info.ClientIP.IsValid() {
		return info.ClientIP, true
	}
	return netip.Addr{}, false
}

// Proxies resolves client addresses: X-Forwarded-For is honoured only when
// the TCP peer is a trusted proxy, and then the right-most address that is
// not itself a trusted proxy is the client (auth-and-keys.md §18.3 note 20;
// http-api.md §4 note 5). The reference trusted the left-most entry from
// anyone, which let any client pick its own rate-limit bucket.
type Proxies struct {
	trusted []netip.Prefix
}

// NewProxies trusts the given networks (TRUSTED_PROXY_CIDRS).
func NewProxies(trusted []netip.Prefix) Proxies { return Proxies{trusted: trusted} }

func (p Proxies) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p.trusted {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP resolves the client address of r. forwarded also consults the
// RFC 7239 Forwarded header (the status-subscription routes do).
func (p Proxies) ClientIP(r *http.Request, forwarded bool) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !p.isTrusted(peer) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	if len(hops) == 0 && forwarded {
		hops = forwardedHeader(r.Header.Values("Forwarded"))
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if !p.isTrusted(hops[i]) {
			return hops[i]
		}
	}
	if len(hops) > 0 {
		return hops[0] // every hop is a trusted proxy: the first is the origin
	}
	return peer
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedFor parses X-Forwarded-For values; an unparsable hop ends the
// list there, since nothing to its left can be trusted.
func forwardedFor(values []string) []netip.Addr {
	var out []netip.Addr
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			a, ok := parseHop(part)
			if !ok {
				return nil
			}
			out = append(out, a)
		}
	}
	return out
}

// forwardedHeader takes the for= values of RFC 7239 Forwarded headers.
func forwardedHeader(values []string) []netip.Addr {
	var out []netip.Addr
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(k, "for") {
					continue
				}
				a, ok := parseHop(strings.Trim(val, `"`))
				if !ok {
					return nil
				}
				out = append(out, a)
			}
		}
	}
	return out
}

// parseHop accepts "ip", "ip:port", "[v6]" and "[v6]:port".
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}
