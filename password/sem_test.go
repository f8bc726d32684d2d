package password

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestNewHasherDefaults(t *testing.T) {
	t.Parallel()
	h, err := NewHasher("pepper", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.cost != 12 || cap(h.sem) != runtime.NumCPU() {
		t.Errorf("cost %d, slots %d; want 12, %d", h.cost, cap(h.sem), runtime.NumCPU())
	}
}

// The dummy hash must be well-formed and of the hasher's cost, or DummyVerify would
// return early and no longer equalise timing.
func TestDummyHashIsRealWork(t *testing.T) {
	t.Parallel()
	h, err := NewHasher("pepper", bcrypt.MinCost, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h.dummy)); err != nil || cost != h.cost {
		t.Fatalf("dummy cost = %d, %v; want %d", cost, err, h.cost)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h.dummy), []byte("x")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Fatalf("compare with dummy = %v, want a mismatch after full work", err)
	}
}

func TestSecondHashWaitsForSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewHasher("pepper", bcrypt.MinCost, 1)
		if err != nil {
			t.Fatal(err)
		}
		release, err := h.acquire(t.Context()) // a first bcrypt operation is running
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := h.Hash(t.Context(), "pw")
			done <- err
		}()
		synctest.Wait() // the second Hash is durably blocked on the semaphore
		select {
		case err := <-done:
			t.Fatalf("second Hash finished (%v) while the only slot was taken", err)
		default:
		}
		release() // the first operation finishes
		if err := <-done; err != nil {
			t.Fatalf("second Hash: %v", err)
		}
	})
}

func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewHasher("pepper", bcrypt.MinCost, 1)
		if err != nil {
			t.Fatal(err)
		}
		release, err := h.acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer release()

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, _, err := h.Hash(ctx, "pw")
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Hash err = %v, want context.Canceled", err)
		}

		ctx, cancel = context.WithTimeout(t.Context(), time.Second) // fake clock
		defer cancel()
		if _, _, err := h.Verify(ctx, "pw", h.dummy); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Verify err = %v, want context.DeadlineExceeded", err)
		}
	})
}
