package chat

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// The model client keeps a connection per concurrent stream: a second wave
// of as many concurrent calls dials nothing (DefaultTransport would keep 100).
func TestModelClientKeepsConnections(t *testing.T) {
	const calls = 150
	var conns atomic.Int64
	var arrived sync.WaitGroup
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := modelClient()
	t.Cleanup(c.CloseIdleConnections)
	wave := func() {
		release = make(chan struct{})
		arrived.Add(calls)
		var done sync.WaitGroup
		for range calls {
			done.Go(func() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		arrived.Wait() // all in flight at once
		close(release)
		done.Wait()
	}
	wave()
	first := conns.Load()
	wave()
	if n := conns.Load(); first != calls || n != first {
		t.Errorf("connections: %d after the first wave of %d calls, %d after the second; want %d, then none new", first, calls, n, calls)
	}
}
