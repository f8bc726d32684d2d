package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testSecrets = ClientSecrets{IPHashSalt: []byte("pepper-salt"), EncryptionKey: []byte("secret")}

func TestSummarizeUserAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ua                  string
		platform, browser, device string
	}{
		{"empty", "", "", "", ""},
		{"chrome windows, safari skipped", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Windows", "Chrome", "desktop"},
		{"edge wins over chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Windows", "Edge", "desktop"},
		{"opera skips chrome and safari", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Windows", "Opera", "desktop"},
		{"brave wins over chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Brave/120", "macOS", "Brave", "desktop"},
		{"arc wins over chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Arc/1.20", "macOS", "Arc", "desktop"},
		{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "macOS", "Safari", "desktop"},
		{"macintosh without mac os x", "Mozilla/5.0 (Macintosh; PPC)", "macOS", "", "desktop"},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "iOS", "Safari", "mobile"},
		{"crios is not safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "iOS", "", "mobile"},
		{"ipad is a tablet", "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "iPadOS", "Safari", "tablet"},
		{"android mobile", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Android", "Chrome", "mobile"},
		{"android without mobile token", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Android", "Chrome", "mobile"},
		{"tablet token", "Mozilla/5.0 (Android 4.4; Tablet; rv:41.0) Gecko/41.0 Firefox/41.0", "Android", "Firefox", "tablet"},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Linux", "Firefox", "desktop"},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "ChromeOS", "Chrome", "desktop"},
		{"ie11 trident", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Windows", "Internet Explorer", "desktop"},
		{"old msie", "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)", "Windows", "Internet Explorer", "desktop"},
		{"case-insensitive", "FIREFOX/1 (WINDOWS NT 10.0)", "Windows", "Firefox", "desktop"},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", "bot"},
		{"bot beats mobile", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Android", "Chrome", "bot"},
		{"spider", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "", "", "bot"},
		{"crawler", "SomeCrawler/1.0", "", "", "bot"},
		{"unknown tool", "curl/8.4.0", "", "", "desktop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, b, d := summarizeUserAgent(tt.ua)
			if p != tt.platform || b != tt.browser || d != tt.device {
				t.Errorf("summarizeUserAgent = (%q, %q, %q), want (%q, %q, %q)", p, b, d, tt.platform, tt.browser, tt.device)
			}
		})
	}
}

func TestMaskIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ip   netip.Addr
		want string
	}{
		{"ipv4", netip.MustParseAddr("203.0.113.5"), "203.0.113.*"},
		{"ipv4-mapped ipv6", netip.MustParseAddr("::ffff:203.0.113.5"), "203.0.113.*"},
		{"ipv6 expanded", netip.MustParseAddr("2001:db8::1"), "2001:0db8:0000:0000:*:*:*:*"},
		{"ipv6 full", netip.MustParseAddr("2001:db8:abcd:12:1:2:3:4"), "2001:0db8:abcd:0012:*:*:*:*"},
		{"loopback ipv6", netip.IPv6Loopback(), "0000:0000:0000:0000:*:*:*:*"},
		{"zone dropped", netip.MustParseAddr("fe80::1%eth0"), "fe80:0000:0000:0000:*:*:*:*"},
		{"invalid", netip.Addr{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := maskIP(tt.ip); got != tt.want {
				t.Errorf("maskIP(%v) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	ip := netip.MustParseAddr("203.0.113.5")
	// Expected hashes computed with Python's hashlib/hmac.
	const (
		wantIPHash      = "754916ae54dd9f4c6ee0bbfe9a0b147b6cfe3adf84cec0a7984c311dce846ac2" // sha256(b"pepper-salt" + b"203.0.113.5")
		wantFingerprint = "37381f8c4623399fc826def8106b8dae5fccd30e281165898f954f179d8a792b" // hmac(b"pepper-salt", b"203.0.113.5:curl/8.4.0")
		wantUAOnly      = "032d5568b25aaf07d553371809a23efa3ebdd401fbc0ccaa627b163ee1543211" // hmac(b"pepper-salt", b":curl/8.4.0")
	)
	tests := []struct {
		name                string
		ip                  netip.Addr
		ua                  string
		fingerprint, ipHash string
		masked, wantIP      string // wantIP: the decrypted ip_encrypted, "" for nil
		device              string
	}{
		{"ip and ua", ip, "  curl/8.4.0 ", wantFingerprint, wantIPHash, "203.0.113.*", "203.0.113.5", "desktop"},
		{"ipv4-mapped is unmapped", netip.MustParseAddr("::ffff:203.0.113.5"), "curl/8.4.0", wantFingerprint, wantIPHash, "203.0.113.*", "203.0.113.5", "desktop"},
		{"ua only", netip.Addr{}, "curl/8.4.0", wantUAOnly, "unknown", "", "", "desktop"},
		{"nothing", netip.Addr{}, "  ", "", "unknown", "", "", ""},
		{"ipv6", netip.MustParseAddr("2001:db8::1"), "", hmacHex("pepper-salt", "2001:db8::1:"), sha256Hex("pepper-salt2001:db8::1"), "2001:0db8:0000:0000:*:*:*:*", "2001:db8::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testSecrets, tt.ip, tt.ua, now)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if c.Fingerprint != tt.fingerprint {
				t.Errorf("Fingerprint = %q, want %q", c.Fingerprint, tt.fingerprint)
			}
			if c.IPHash != tt.ipHash {
				t.Errorf("IPHash = %q, want %q", c.IPHash, tt.ipHash)
			}
			if c.IPMasked != tt.masked {
				t.Errorf("IPMasked = %q, want %q", c.IPMasked, tt.masked)
			}
			if c.UserAgent != strings.TrimSpace(tt.ua) {
				t.Errorf("UserAgent = %q, want %q", c.UserAgent, strings.TrimSpace(tt.ua))
			}
			if c.Device != tt.device {
				t.Errorf("Device = %q, want %q", c.Device, tt.device)
			}
			if tt.wantIP == "" {
				if c.IPEncrypted != nil {
					t.Errorf("IPEncrypted = %q, want nil", c.IPEncrypted)
				}
				return
			}
			ts, _, plain, err := fernetDecrypt(sha256.Sum256(testSecrets.EncryptionKey), string(c.IPEncrypted))
			if err != nil {
				t.Fatalf("decrypt ip_encrypted: %v", err)
			}
			if string(plain) != tt.wantIP || ts != uint64(now.Unix()) {
				t.Errorf("ip_encrypted holds (%q, %d), want (%q, %d)", plain, ts, tt.wantIP, now.Unix())
			}
		})
	}
}

func TestNewClientFingerprint(t *testing.T) {
	t.Parallel()
	ip, ua, now := netip.MustParseAddr("198.51.100.7"), "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", time.Unix(0, 0)
	a, errA := NewClient(testSecrets, ip, ua, now)
	b, errB := NewClient(testSecrets, ip, ua, now.Add(time.Hour))
	other, errC := NewClient(ClientSecrets{IPHashSalt: []byte("other-salt"), EncryptionKey: []byte("secret")}, ip, ua, now)
	if err := errors.Join(errA, errB, errC); err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if a.Fingerprint != b.Fingerprint {
		t.Errorf("fingerprint not stable: %q vs %q", a.Fingerprint, b.Fingerprint)
	}
	if raw, err := hex.DecodeString(a.Fingerprint); err != nil || len(a.Fingerprint) != 64 || len(raw) != 32 {
		t.Errorf("fingerprint %q is not 64 hex chars", a.Fingerprint)
	}
	if other.Fingerprint == a.Fingerprint || other.IPHash == a.IPHash {
		t.Errorf("fingerprint and IP hash must change with the salt")
	}
	if bytes.Equal(a.IPEncrypted, b.IPEncrypted) {
		t.Errorf("two encryptions of one IP are identical; the IV must be random")
	}
}

func TestNewClientNeedsSecrets(t *testing.T) {
	t.Parallel()
	for _, sec := range []ClientSecrets{{}, {IPHashSalt: []byte("s")}, {EncryptionKey: []byte("k")}} {
		if _, err := NewClient(sec, netip.Addr{}, "", time.Unix(0, 0)); err == nil {
			t.Errorf("NewClient(%+v) succeeded, want an error", sec)
		}
	}
}

func TestNewClientTruncatesUserAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ua, want string
	}{
		{"short kept", "ua/1", "ua/1"},
		{"exactly 512", strings.Repeat("a", 512), strings.Repeat("a", 512)},
		{"ascii", strings.Repeat("a", 600), strings.Repeat("a", 512)},
		{"two-byte runes", strings.Repeat("é", 600), strings.Repeat("é", 512)},
		{"multibyte kept whole", "a" + strings.Repeat("日本", 300), "a" + strings.Repeat("日本", 255) + "日"},
		{"trimmed first", "   " + strings.Repeat("😀", 513) + "\t", strings.Repeat("😀", 512)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testSecrets, netip.Addr{}, tt.ua, time.Unix(0, 0))
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if c.UserAgent != tt.want || !utf8.ValidString(c.UserAgent) || utf8.RuneCountInString(c.UserAgent) > 512 {
				t.Errorf("UserAgent = %q (%d runes), want %q", c.UserAgent, utf8.RuneCountInString(c.UserAgent), tt.want)
			}
		})
	}
}

func TestFernetEncrypt(t *testing.T) {
	t.Parallel()
	key := sha256.Sum256([]byte("secret"))
	iv := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	now := time.Unix(0x499602d2, 0)
	// Python: Fernet(urlsafe_b64encode(sha256(b"secret").digest()))._encrypt_from_parts(b"203.0.113.5", 0x499602d2, bytes(range(16)))
	const want = "gAAAAABJlgLSAAECAwQFBgcICQoLDA0OD8zpZ2ZwD9cDzhX2dq1tjFdr0uUaFx7DPm757MTFWX30MBFvyVGGYtciwp-8BXC_Pg=="

	tests := []struct {
		name  string
		plain []byte
	}{
		{"ip", []byte("203.0.113.5")},
		{"empty pads a whole block", nil},
		{"block-sized pads a whole block", []byte("0123456789abcdef")},
		{"ipv6", []byte("2001:db8:abcd:12:1:2:3:4")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := fernetEncrypt(key, tt.plain, now, iv)
			if string(tt.plain) == "203.0.113.5" && token != want {
				t.Errorf("token = %s, want %s", token, want)
			}
			ts, gotIV, plain, err := fernetDecrypt(key, token)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if ts != 0x499602d2 || !bytes.Equal(gotIV, iv) || !bytes.Equal(plain, tt.plain) {
				t.Errorf("decrypted (%#x, %x, %q), want (%#x, %x, %q)", ts, gotIV, plain, 0x499602d2, iv, tt.plain)
			}
		})
	}

	t.Run("tampering fails the HMAC", func(t *testing.T) {
		t.Parallel()
		raw, _ := base64.URLEncoding.DecodeString(want)
		raw[20] ^= 1
		if _, _, _, err := fernetDecrypt(key, base64.URLEncoding.EncodeToString(raw)); err == nil {
			t.Error("tampered token decrypted")
		}
	})
}

// fernetDecrypt reads a token the way the Fernet spec does: version byte,
// timestamp, IV, HMAC over everything before it, then CBC and PKCS7.
func fernetDecrypt(key [32]byte, token string) (ts uint64, iv, plain []byte, err error) {
	raw, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(raw) < 1+8+16+16+32 || (len(raw)-1-8-16-32)%16 != 0 {
		return 0, nil, nil, errors.New("bad length")
	}
	if raw[0] != 0x80 {
		return 0, nil, nil, errors.New("bad version")
	}
	body, sum := raw[:len(raw)-32], raw[len(raw)-32:]
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return 0, nil, nil, errors.New("bad HMAC")
	}
	ts, iv, ct := binary.BigEndian.Uint64(body[1:9]), body[9:25], body[25:]
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return 0, nil, nil, err
	}
	plain = make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return 0, nil, nil, errors.New("bad padding")
	}
	return ts, iv, plain[:len(plain)-pad], nil
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
