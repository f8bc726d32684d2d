package keys

import (
	"crypto/sha256"
	"sync"
)

// DefaultSeenSize is how many tokens a Seen set built by NewSeen(0) holds.
const DefaultSeenSize = 1 << 14

// Seen remembers tokens whose signature this process has verified, so a
// token presented again (an access token is sent with every request of its
// lifetime) skips the Ed25519 check, the larger part of verifying it. Only
// the signature is skipped: the header, the kid (a key dropped from the
// keyset still invalidates its tokens) and every claim (expiry included)
// are checked each time. A remembered entry is the SHA-256 of the whole
// token string, header, payload and signature: a string with the same hash
// is the same string, whose signature check would only repeat itself.
//
// It holds at most its size in entries (32 bytes each): two generations,
// the older dropped when the newer fills, so tokens in use stay and old
// ones age out. Safe for concurrent use.
type Seen struct {
	mu        sync.Mutex
	half      int
	cur, prev map[[32]byte]struct{}
}

// NewSeen returns an empty set of at most size tokens (DefaultSeenSize when
// size <= 0).
func NewSeen(size int) *Seen {
	if size <= 0 {
		size = DefaultSeenSize
	}
	half := max(size/2, 1)
	return &Seen{half: half, cur: make(map[[32]byte]struct{}, half)}
}

func (s *Seen) has(token string) bool {
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[h]; ok {
		return true
	}
	if _, ok := s.prev[h]; ok {
		s.addLocked(h) // still in use: keep it past the next generation change
		return true
	}
	return false
}

func (s *Seen) add(token string) {
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(h)
}

func (s *Seen) addLocked(h [32]byte) {
	if len(s.cur) >= s.half {
		s.prev, s.cur = s.cur, make(map[[32]byte]struct{}, s.half)
	}
	s.cur[h] = struct{}{}
}

// Len is how many tokens are remembered.
func (s *Seen) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cur) + len(s.prev)
}
