package chat

import (
	"errors"
	"iter"
	"testing"
	"time"
)

// ahead runs the turn before anyone ranges over it, hands over every frame
// in order, and when the consumer stops, stops the turn and waits for its
// cleanup, as ranging over the turn itself would.
func TestAhead(t *testing.T) {
	boom := errors.New("boom")
	started, cleaned := make(chan struct{}), make(chan bool, 1)
	seq := func(yield func(Frame, error) bool) {
		close(started)
		stopped := false
		for _, c := range []string{"a", "b", "c"} {
			if !yield(Frame{Chunk: c}, nil) {
				stopped = true
				break
			}
		}
		if !stopped {
			yield(Frame{}, boom)
		}
		cleaned <- stopped
	}

	frames := ahead(iter.Seq2[Frame, error](seq))
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the turn did not start before it was ranged over")
	}
	var got []string
	var last error
	for f, err := range frames {
		got, last = append(got, f.Chunk), err
	}
	if len(got) != 4 || got[0] != "a" || got[2] != "c" || !errors.Is(last, boom) {
		t.Fatalf("frames %q, last error %v; want a, b, c, then boom", got, last)
	}
	if <-cleaned {
		t.Fatal("a turn ranged to its end saw its consumer stop")
	}

	started = make(chan struct{})
	for f := range ahead(iter.Seq2[Frame, error](seq)) {
		if f.Chunk == "a" {
			break
		}
	}
	select {
	case stopped := <-cleaned: // already there: the range waited for the cleanup
		if !stopped {
			t.Fatal("the turn was not told its consumer stopped")
		}
	default:
		t.Fatal("ranging ended before the turn's cleanup")
	}
}
