// Package password hashes, verifies and judges user passwords: the bcrypt hash formats
// v1, v2 and v3, a bound on concurrent bcrypt work, and the strength policy
// (spec: auth-and-keys.md §6.1–6.3, §18.3 notes 17–18). Only this package runs bcrypt
// on user passwords.
package password

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/crypto/bcrypt"
)

// Hash format versions, stored in users.password_pepper_version.
const (
	V1 = "v1" // bcrypt of the raw password (legacy, unpeppered)
	V2 = "v2" // bcrypt of "<pepper>:<password>" (the reference's format)
	V3 = "v3" // bcrypt of base64(HMAC-SHA256(pepper, password)) (spec: §18.3 note 17)
)

// DefaultCost is the reference's bcrypt cost (passlib's default). Go's bcrypt.DefaultCost
// is 10, so it is not used.
const DefaultCost = 12

// maxBcryptInput is the number of bytes bcrypt reads; passlib silently ignored the rest
// and Go's bcrypt refuses longer inputs, so legacy inputs are truncated to it.
const maxBcryptInput = 72

// dummySaltAndHash is the salt and digest of a bcrypt hash of a random value nobody
// knows; with the hasher's cost in front it is what DummyVerify compares against.
const dummySaltAndHash = "jZqytcIai/2vCV4.CMKsKu4ftB9BMyE1nGWMNy92W5860lGMq9JRq"

// Hasher hashes and verifies passwords with the server's pepper. Its methods are safe
// for concurrent use; at most maxConcurrent bcrypt operations run at once, so a burst
// of logins queues instead of starving every other request of CPU.
type Hasher struct {
	pepper []byte
	cost   int
	sem    chan struct{}
	dummy  string // a well-formed hash of the hasher's cost that nothing matches
}

// NewHasher builds a Hasher. cost ≤ 0 means DefaultCost (12) and maxConcurrent ≤ 0 means
// runtime.NumCPU(); an empty pepper is ErrNoPepper (spec: auth-and-keys.md §6.1).
func NewHasher(pepper string, cost, maxConcurrent int) (*Hasher, error) {
	if pepper == "" {
		return nil, ErrNoPepper
	}
	if cost <= 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("%w: %d", ErrBadCost, cost)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Hasher{
		pepper: []byte(pepper),
		cost:   cost,
		sem:    make(chan struct{}, maxConcurrent),
		dummy:  fmt.Sprintf("$2a$%02d$%s", cost, dummySaltAndHash),
	}, nil
}

// Hash returns a new v3 hash of plain and its version, V3 (spec: §18.3 note 17). It waits
// for a bcrypt slot and returns ctx.Err() if ctx ends first.
func (h *Hasher) Hash(ctx context.Context, plain string) (hash, version string, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", "", err
	}
	defer release()
	b, err := bcrypt.GenerateFromPassword(h.v3Input(plain), h.cost)
	if err != nil {
		return "", "", fmt.Errorf("password: hash: %w", err)
	}
	return string(b), V3, nil
}

// Verify reports whether plain matches hash, trying v3, then v2, then v1 (the stored
// version is not consulted, as in the reference). needsRehash is true when the match was
// a legacy v2/v1 hash or a v3 hash of another cost: the caller then stores a fresh Hash.
// A hash that is not bcrypt is simply no match. The only errors are ctx's.
//
// A wrong password costs three bcrypt compares; VerifyVersion costs one for v3 hashes.
func (h *Hasher) Verify(ctx context.Context, plain, hash string) (ok, needsRehash bool, err error) {
	return h.VerifyVersion(ctx, plain, hash, "")
}

// VerifyVersion is Verify with the stored password_pepper_version: a hash
// stored as v3 is only compared as v3 (a v2 or v1 input cannot match it), so
// a wrong password costs one bcrypt compare instead of three. Any other
// version tries the whole chain.
func (h *Hasher) VerifyVersion(ctx context.Context, plain, hash, version string) (ok, needsRehash bool, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return h.verify(plain, []byte(hash), version == V3)
}

// DummyVerify does the work of a failed check of a v3 hash (one compare at
// the hasher's cost) against a fixed hash, so that a login for an unknown
// email takes as long as a wrong password for a known one (spec: §18.3 note
// 18). The only errors are ctx's.
func (h *Hasher) DummyVerify(ctx context.Context, plain string) error {
	_, _, err := h.VerifyVersion(ctx, plain, h.dummy, V3)
	return err
}

func (h *Hasher) verify(plain string, hash []byte, onlyV3 bool) (ok, needsRehash bool, err error) {
	inputs := [][]byte{h.v3Input(plain)}
	if !onlyV3 {
		inputs = append(inputs,
			truncate(append(append(append([]byte(nil), h.pepper...), ':'), plain...)),
			truncate([]byte(plain)))
	}
	for i, in := range inputs {
		err := bcrypt.CompareHashAndPassword(hash, in)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			continue
		}
		if err != nil {
			return false, false, nil // not a bcrypt hash we can read: no match
		}
		if i > 0 {
			return true, true, nil
		}
		cost, _ := bcrypt.Cost(hash)
		return true, cost != h.cost, nil
	}
	return false, false, nil
}

// v3Input is base64(HMAC-SHA256(key = pepper, message = password)): 44 bytes whatever
// the password's length, so nothing is lost to bcrypt's 72-byte limit.
func (h *Hasher) v3Input(plain string) []byte {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte(plain))
	sum := mac.Sum(nil)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	return out
}

func truncate(b []byte) []byte {
	if len(b) > maxBcryptInput {
		return b[:maxBcryptInput]
	}
	return b
}

// acquire takes a bcrypt slot, or gives up when ctx ends first.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
