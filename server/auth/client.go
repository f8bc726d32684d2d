package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxUserAgentRunes bounds every stored user agent: the columns are
// varchar(512) and a longer value made the reference's inserts fail
// (spec: auth-and-keys.md §7.4, §18.2 note 14).
const maxUserAgentRunes = 512

// Client is what a session records about the caller's connection (spec: auth-and-keys.md §8.6-8.7, §18.2 notes 14-15).
type Client struct {
	Fingerprint string // hex HMAC-SHA256(key=salt, msg="<ip>:<ua>"); "" when both ip and ua are empty
	IPHash      string // hex SHA-256 of salt bytes ‖ ip bytes (no separator); "unknown" when no IP
	IPEncrypted []byte // Fernet token (base64url text as bytes) of the IP under key derived from encKey; nil when no IP
	IPMasked    string // a.b.c.* / first 4 exploded IPv6 groups + ":*:*:*:*"; "" for no or invalid IP
	UserAgent   string // trimmed, truncated to 512 runes (rune-safe)

	Platform, Browser, Device string // §8.7; all "" when the UA is empty
}

// ClientSecrets are the keys NewClient uses.
type ClientSecrets struct {
	IPHashSalt    []byte // AUTH_SESSION_IP_HASH_SALT or SECRET_KEY
	EncryptionKey []byte // AUTH_SESSION_ENCRYPTION_KEY or SECRET_KEY
}

// NewClient derives the session's client fields from the caller's IP (the
// zero Addr when unknown) and User-Agent header. The fingerprint is a keyed
// hash, not the reference's reversible base64, so session and token listings
// never leak the IP (spec: auth-and-keys.md §8.1 step 2, §18.2 note 14).
func NewClient(sec ClientSecrets, ip netip.Addr, userAgent string, now time.Time) (Client, error) {
	if len(sec.IPHashSalt) == 0 || len(sec.EncryptionKey) == 0 {
		return Client{}, errors.New("auth: client secrets need an IP hash salt and an encryption key")
	}
	ua := truncateUserAgent(userAgent)
	c := Client{UserAgent: ua, IPHash: hashIP(sec.IPHashSalt, ip), IPMasked: maskIP(ip)}
	c.Platform, c.Browser, c.Device = summarizeUserAgent(ua)

	ipText := ipString(ip)
	if ipText != "" || ua != "" {
		mac := hmac.New(sha256.New, sec.IPHashSalt)
		mac.Write([]byte(ipText + ":" + ua))
		c.Fingerprint = hex.EncodeToString(mac.Sum(nil))
	}
	if ipText != "" {
		iv := make([]byte, aes.BlockSize)
		if _, err := rand.Read(iv); err != nil {
			return Client{}, fmt.Errorf("auth: session IV: %w", err)
		}
		c.IPEncrypted = []byte(fernetEncrypt(sha256.Sum256(sec.EncryptionKey), []byte(ipText), now, iv))
	}
	return c, nil
}

// ipString is the canonical text of ip, with IPv4-mapped IPv6 unmapped so
// one client hashes the same over either stack; "" when unknown.
func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.Unmap().String()
}

// hashIP is the salted IP hash shared by sessions and login events
// (spec: auth-and-keys.md §8.6, §18.2 note 14).
func hashIP(salt []byte, ip netip.Addr) string {
	s := ipString(ip)
	if s == "" {
		return "unknown"
	}
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// truncateUserAgent trims ua and keeps at most 512 runes, never splitting
// one. Invalid UTF-8 becomes U+FFFD, which Postgres text columns reject.
func truncateUserAgent(ua string) string {
	ua = strings.ToValidUTF8(strings.TrimSpace(ua), "\uFFFD")
	if utf8.RuneCountInString(ua) <= maxUserAgentRunes {
		return ua
	}
	n := 0
	for i := range ua {
		if n == maxUserAgentRunes {
			return ua[:i]
		}
		n++
	}
	return ua
}

// uaRule maps a lower-case substring to a label unless one of the unless
// substrings also occurs: Chromium forks say "chrome" and every WebKit
// browser says "safari".
type uaRule struct {
	needle, label string
	unless        []string
}

var (
	platformRules = []uaRule{
		{"iphone", "iOS", nil}, {"ipad", "iPadOS", nil}, {"mac os x", "macOS", nil},
		{"macintosh", "macOS", nil}, {"android", "Android", nil}, {"windows nt", "Windows", nil},
		{"cros", "ChromeOS", nil}, {"linux", "Linux", nil},
	}
	browserRules = []uaRule{
		{"edg", "Edge", nil}, {"brave", "Brave", nil}, {"arc/", "Arc", nil},
		{"chrome", "Chrome", []string{"edg", "opr", "brave"}}, {"safari", "Safari", []string{"chrome", "crios"}},
		{"firefox", "Firefox", nil}, {"trident", "Internet Explorer", nil}, {"msie", "Internet Explorer", nil},
		{"opr", "Opera", nil},
	}
)

// summarizeUserAgent applies the reference's substring rules, in order, to
// the lower-cased UA (spec: auth-and-keys.md §8.7).
func summarizeUserAgent(ua string) (platform, browser, device string) {
	if ua == "" {
		return "", "", ""
	}
	s := strings.ToLower(ua)
	platform, browser = firstMatch(s, platformRules), firstMatch(s, browserRules)
	switch {
	case containsAny(s, "bot", "spider", "crawl"):
		device = "bot"
	case containsAny(s, "ipad", "tablet"):
		device = "tablet"
	case containsAny(s, "mobile", "iphone", "android"):
		device = "mobile"
	default:
		device = "desktop"
	}
	return platform, browser, device
}

// firstMatch is the label of the first rule that applies to s, or "".
func firstMatch(s string, rules []uaRule) string {
	for _, r := range rules {
		if strings.Contains(s, r.needle) && !containsAny(s, r.unless...) {
			return r.label
		}
	}
	return ""
}

func containsAny(s string, needles ...string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

// fernetEncrypt builds a Fernet token readable by Python's cryptography, so
// ip_encrypted keeps the reference's schema (spec: auth-and-keys.md §8.6,
// §18.2 note 15). key32 is SHA-256 of the secret: the first 16 bytes sign,
// the last 16 are the AES-128 key. iv must be 16 bytes.
func fernetEncrypt(key32 [32]byte, plaintext []byte, now time.Time, iv []byte) string {
	block, err := aes.NewCipher(key32[16:])
	if err != nil {
		panic("auth: AES-128 key: " + err.Error()) // unreachable: the key is 16 bytes
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)

	token := make([]byte, 0, 1+8+aes.BlockSize+len(padded)+sha256.Size)
	token = append(token, 0x80)
	token = binary.BigEndian.AppendUint64(token, uint64(now.Unix()))
	token = append(token, iv...)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	token = append(token, ct...)

	mac := hmac.New(sha256.New, key32[:16])
	mac.Write(token)
	token = mac.Sum(token)
	return base64.URLEncoding.EncodeToString(token)
}

// maskIP keeps the network part of ip for display: a.b.c.* for IPv4 and the
// first four fully expanded groups for IPv6; "" when ip is unknown
// (spec: auth-and-keys.md §8.6).
func maskIP(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return strconv.Itoa(int(b[0])) + "." + strconv.Itoa(int(b[1])) + "." + strconv.Itoa(int(b[2])) + ".*"
	}
	b := ip.As16()
	return fmt.Sprintf("%02x%02x:%02x%02x:%02x%02x:%02x%02x:*:*:*:*", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
}
