package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder receives one call per signing and per verification, so the metrics package can
// count jwt_signings_total / jwt_verifications_total and their histograms without this
// package importing Prometheus (spec: cli-config-ops.md §8.4). result is "success" or
// "failure"; tokenUse is the token_use claim lower-cased, "unknown" when absent.
type Recorder interface {
	TokenSigned(result, tokenUse string, d time.Duration)
	TokenVerified(result, tokenUse string, d time.Duration)
}

// ManagerDeps is what a Manager uses; cmd fills it from the settings.
type ManagerDeps struct {
	Storage      Storage
	Now          func() time.Time // default time.Now
	FileRecheck  time.Duration    // how often the file's mtime/size is checked; default 1 s
	VaultRecheck time.Duration    // how often other storages are re-read; default 30 s
	ETagSalt     string           // AUTH_JWKS_ETAG_SALT
	Recorder     Recorder         // nil: nothing is recorded
	Log          *slog.Logger     // nil: nothing is logged
}

// Manager keeps the parsed keyset in memory with everything derived from it, and notices a
// rotation made by another process: the file is re-read when its mtime/size changes (checked at
// most once per FileRecheck), Vault at most once per VaultRecheck (spec: auth-and-keys.md §18.1
// note 5). It is safe for concurrent use; the common path is one atomic load.
type Manager struct {
	st      Storage
	stamper stamper // nil unless the storage is a file
	now     func() time.Time
	every   time.Duration
	salt    string
	rec     Recorder
	log     *slog.Logger

	cur       atomic.Pointer[Snapshot]
	nextCheck atomic.Int64 // UnixNano on the injected clock

	mu      sync.Mutex // one reload at a time; guards stamp and lastErr
	stamp   fileStamp
	lastErr error
}

// NewManager checks deps and applies the defaults. The keyset is loaded on first use; call
// Current at startup to surface storage errors early.
func NewManager(d ManagerDeps) (*Manager, error) {
	if d.Storage == nil {
		return nil, errors.New("keys: ManagerDeps.Storage is required")
	}
	m := &Manager{st: d.Storage, now: d.Now, salt: d.ETagSalt, rec: d.Recorder, log: d.Log}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.every = d.VaultRecheck
	if m.every <= 0 {
		m.every = 30 * time.Second
	}
	if s, ok := d.Storage.(stamper); ok {
		m.stamper = s
		m.every = d.FileRecheck
		if m.every <= 0 {
			m.every = time.Second
		}
	}
	return m, nil
}

// Backend is the storage's backend name.
func (m *Manager) Backend() string { return m.st.Backend() }

// Snapshot is one loaded keyset and what is derived from it: the JWKS body and headers and the
// per-key signing and verification material. It is shared and must be treated as read-only.
type Snapshot struct {
	Keyset       Keyset
	JWKS         Document
	JWKSBody     []byte    // compact JSON, as the JWKS endpoint serves it
	ETag         string    // quoted
	LastModified time.Time // format with http.TimeFormat
	LoadedAt     time.Time

	signKID   string
	signers   map[string]signer // kid → signer, for every key with a private key
	verifiers []verifier        // active, next, retired
	jwksUntil time.Time         // the next retired not_after: JWKS must be rebuilt then
}

type verifier struct {
	kid      string
	pub      ed25519.PublicKey
	notAfter time.Time // zero: not enforced (active and next)
}

func newSnapshot(ks Keyset, now time.Time, salt string) (*Snapshot, error) {
	s := &Snapshot{Keyset: ks, LoadedAt: now, signers: map[string]signer{}}
	all := ks.all()
	for i, k := range all {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("keys: key %q: %w", k.KID, err)
		}
		v := verifier{kid: k.KID, pub: pub}
		if i >= len(all)-len(ks.Retired) { // a retired key
			if k.NotAfter == nil {
				return nil, fmt.Errorf("%w: retired key %q has no not_after", ErrInvalidKeyset, k.KID)
			}
			v.notAfter = *k.NotAfter
			if now.Before(v.notAfter) && (s.jwksUntil.IsZero() || v.notAfter.Before(s.jwksUntil)) {
				s.jwksUntil = v.notAfter
			}
		}
		s.verifiers = append(s.verifiers, v)
		if k.PrivateKey != nil {
			sg, err := newSigner(k)
			if err != nil {
				return nil, err
			}
			if _, dup := s.signers[k.KID]; !dup {
				s.signers[k.KID] = sg
			}
		}
	}
	if ks.Active != nil && ks.Active.PrivateKey != nil {
		s.signKID = ks.Active.KID
	}
	s.JWKS = ks.JWKS(now)
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.JWKS); err != nil {
		return nil, err
	}
	s.JWKSBody = bytes.TrimSuffix(body.Bytes(), []byte("\n"))
	s.ETag = s.JWKS.ETag(salt)
	s.LastModified = s.JWKS.LastModified(now)
	return s, nil
}

func (s *Snapshot) fresh(now time.Time) bool {
	return s.jwksUntil.IsZero() || now.Before(s.jwksUntil)
}

// Current returns the keyset snapshot, re-checking storage when the recheck interval has
// passed. A failed re-read keeps the previous snapshot (logged); only the first load fails.
func (m *Manager) Current(ctx context.Context) (*Snapshot, error) {
	s := m.cur.Load()
	if s != nil {
		now := m.now()
		if now.UnixNano() < m.nextCheck.Load() && s.fresh(now) {
			return s, nil
		}
		if !m.mu.TryLock() {
			return s, nil // another caller is re-reading; the current snapshot is good meanwhile
		}
	} else {
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	return m.reload(ctx, false)
}

// Refresh re-reads storage now, e.g. after this process rotated the keyset.
func (m *Manager) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.reload(ctx, true)
	return err
}

// Rotate rotates the keyset in storage (see Rotate) and reloads it; a zero opt.Now is the
// Manager's clock.
func (m *Manager) Rotate(ctx context.Context, opt RotateOptions) (RotateResult, error) {
	if opt.Now.IsZero() {
		opt.Now = m.now()
	}
	res, err := Rotate(ctx, m.st, opt)
	if err != nil {
		return res, err
	}
	return res, m.Refresh(ctx)
}

// reload runs with m.mu held.
func (m *Manager) reload(ctx context.Context, force bool) (*Snapshot, error) {
	now := m.now()
	s := m.cur.Load()
	due := force || now.UnixNano() >= m.nextCheck.Load()
	switch {
	case !due && s == nil && m.lastErr != nil:
		return nil, m.lastErr // a recent first load failed; retry after the interval
	case !due && s != nil:
		return m.refreshJWKS(s, now) // only a retired key's expiry brought us here (or nothing)
	}
	var stamp fileStamp
	if m.stamper != nil {
		var err error
		if stamp, err = m.stamper.stamp(); err != nil {
			return m.failed(ctx, s, now, err)
		}
		if s != nil && !force && stamp.same(m.stamp) {
			m.nextCheck.Store(now.Add(m.every).UnixNano())
			return m.refreshJWKS(s, now)
		}
	}
	ks, err := m.st.Load(ctx)
	if err != nil {
		return m.failed(ctx, s, now, err)
	}
	ns, err := newSnapshot(ks, now, m.salt)
	if err != nil {
		return m.failed(ctx, s, now, err)
	}
	m.stamp, m.lastErr = stamp, nil
	m.cur.Store(ns)
	m.nextCheck.Store(now.Add(m.every).UnixNano())
	return ns, nil
}

// refreshJWKS rebuilds the snapshot from the same keyset once a retired key has expired, so
// the JWKS stops publishing it.
func (m *Manager) refreshJWKS(s *Snapshot, now time.Time) (*Snapshot, error) {
	if s.fresh(now) {
		return s, nil
	}
	ns, err := newSnapshot(s.Keyset, now, m.salt)
	if err != nil {
		return s, nil // cannot happen: the same keyset built before
	}
	m.cur.Store(ns)
	return ns, nil
}

// failed keeps serving the previous snapshot after a failed re-read and waits one interval
// before trying again; a cancelled caller does not delay the next attempt.
func (m *Manager) failed(ctx context.Context, s *Snapshot, now time.Time, err error) (*Snapshot, error) {
	if ctx.Err() == nil {
		m.lastErr = err
		m.nextCheck.Store(now.Add(m.every).UnixNano())
	}
	if s == nil {
		return nil, err
	}
	m.log.WarnContext(ctx, "keyset reload failed; keeping the loaded keyset",
		slog.String("event", "keyset_reload_failed"), slog.String("backend", m.st.Backend()), slog.Any("error", err))
	return s, nil
}
