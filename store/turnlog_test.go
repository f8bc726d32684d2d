package store_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"agentplane/store"
	"agentplane/store/storetest"
)

func TestTurnLog(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		l := store.NewTurnLog(r, prefix)
		const tenant, conv = "tenant-a", "conv-1"
		if _, _, err := l.Read(ctx, tenant, conv, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read before any turn: %v, want ErrNotFound", err)
		}
		if err := l.Begin(ctx, tenant, conv); err != nil {
			t.Fatal(err)
		}
		for i, data := range []string{`{"chunk":"a"}`, `{"chunk":"b"}`, `{"chunk":"c"}`} {
			if err := l.Append(ctx, tenant, conv, i+1, []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		frames, ended, err := l.Read(ctx, tenant, conv, 1)
		want := []store.LoggedFrame{{ID: 2, Data: []byte(`{"chunk":"b"}`)}, {ID: 3, Data: []byte(`{"chunk":"c"}`)}}
		if err != nil || ended || !cmp.Equal(frames, want) {
			t.Fatalf("read after 1 = %v, %v, %v; want %v, live", frames, ended, err, want)
		}
		if frames, ended, err := l.Read(ctx, tenant, conv, 3); err != nil || ended || len(frames) != 0 {
			t.Fatalf("read at the live edge = %v, %v, %v; want nothing yet", frames, ended, err)
		}
		if err := l.End(ctx, tenant, conv, 3); err != nil {
			t.Fatal(err)
		}
		for _, after := range []int{0, 3, 99} {
			frames, ended, err := l.Read(ctx, tenant, conv, after)
			if err != nil || !ended || len(frames) != max(0, 3-after) {
				t.Errorf("read after %d of an ended turn = %d frames, %v, %v", after, len(frames), ended, err)
			}
		}
		if ttl := r.PTTL(ctx, prefix+"chat:turn:"+tenant+":"+conv).Val(); ttl <= 0 || ttl > store.TurnLogKeep {
			t.Errorf("log TTL %v, want (0, %v]", ttl, store.TurnLogKeep)
		}
		if _, _, err := l.Read(ctx, "tenant-b", conv, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's log: %v, want ErrNotFound", err)
		}
		// a new turn replaces the old one
		if err := l.Begin(ctx, tenant, conv); err != nil {
			t.Fatal(err)
		}
		if err := l.Append(ctx, tenant, conv, 1, []byte(`{"chunk":"new"}`)); err != nil {
			t.Fatal(err)
		}
		frames, ended, err = l.Read(ctx, tenant, conv, 0)
		if err != nil || ended || len(frames) != 1 || string(frames[0].Data) != `{"chunk":"new"}` {
			t.Errorf("new turn = %v, %v, %v", frames, ended, err)
		}
	})
}
