package keys

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultGrace is the retirement grace used when RotateOptions.Grace is zero: the largest of
// the default token lifetimes, 30 days (spec: auth-and-keys.md §18.1 note 2).
const DefaultGrace = 30 * 24 * time.Hour

// RotateOptions are the flags of `agentplane keys rotate` (spec: auth-and-keys.md §18.1 note 2).
type RotateOptions struct {
	KID       string        // --kid: the new key's kid; empty = generated (or promote next)
	NoGrace   bool          // --no-grace: discard the previous active key (key compromise)
	StageNext bool          // --stage-next: only generate a new next key
	Grace     time.Duration // how long the previous active key stays verifiable; 0 = DefaultGrace
	Now       time.Time     // zero = time.Now()
}

// RotateResult is the command's output: {"kid", "public_jwk", "storage_backend", "retired"}
// (spec: cli-config-ops.md §3.2). KID and PublicJWK describe the new active key, or the new
// next key with StageNext; Retired lists the retired kids kept after the rotation.
type RotateResult struct {
	KID            string   `json:"kid"`
	PublicJWK      JWK      `json:"public_jwk"`
	StorageBackend string   `json:"storage_backend"`
	Retired        []string `json:"retired"`
}

// Rotate loads the keyset, rotates it and saves it. By default the new active key is the
// promoted next key when there is one and no KID is given, else a new key; the previous active
// key is retired with not_after = now + grace (or dropped with NoGrace). Expired retired keys
// are pruned on every save (spec: auth-and-keys.md §18.1 note 2).
func Rotate(ctx context.Context, st Storage, opt RotateOptions) (RotateResult, error) {
	if opt.Grace < 0 {
		return RotateResult{}, errors.New("keys: rotate: negative grace")
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	grace := opt.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	ks, err := st.Load(ctx)
	if err != nil {
		return RotateResult{}, err
	}
	ks = ks.Pruned(now)
	if opt.KID != "" {
		if _, used := ks.Lookup(opt.KID); used {
			return RotateResult{}, fmt.Errorf("%w: %q", ErrKIDInUse, opt.KID)
		}
	}

	var made Key
	switch {
	case opt.StageNext:
		if made, err = Generate(opt.KID, now); err != nil {
			return RotateResult{}, err
		}
		ks.Next = &made
	default:
		if ks.Next != nil && opt.KID == "" {
			made, ks.Next = *ks.Next, nil
		} else if made, err = Generate(opt.KID, now); err != nil {
			return RotateResult{}, err
		}
		if old := ks.Active; old != nil && !opt.NoGrace {
			retired := *old
			notAfter := now.UTC().Truncate(time.Microsecond).Add(grace)
			retired.NotAfter = &notAfter
			ks.Retired = append(ks.Retired[:len(ks.Retired):len(ks.Retired)], retired)
		}
		ks.Active = &made
	}
	if err := st.Save(ctx, ks); err != nil {
		return RotateResult{}, err
	}
	res := RotateResult{KID: made.KID, PublicJWK: made.PublicJWK, StorageBackend: st.Backend(), Retired: []string{}}
	for _, k := range ks.Retired {
		res.Retired = append(res.Retired, k.KID)
	}
	return res, nil
}

// EnsureActive generates and saves an active key when the keyset has none (first start outside
// production enforcement, spec: auth-and-keys.md §18.1 note 7); a staged next key is promoted
// instead. It reports whether it changed the keyset.
func EnsureActive(ctx context.Context, st Storage, now time.Time) (created bool, err error) {
	ks, err := st.Load(ctx)
	if err != nil {
		return false, err
	}
	if ks.Active != nil {
		return false, nil
	}
	if _, err := Rotate(ctx, st, RotateOptions{Now: now}); err != nil {
		return false, err
	}
	return true, nil
}
