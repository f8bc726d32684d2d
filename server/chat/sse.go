package chat

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// defaultPing is the silence after which a stream sends a `: ping` comment
// (spec: http-api.md §4 note 7), so proxies keep an idle stream open.
const defaultPing = 15 * time.Second

// writeTimeout bounds one write to a stream; a client that reads nothing
// for that long is treated as gone.
const writeTimeout = 15 * time.Second

// errClientGone is a failed write: the client went away or stopped reading.
var errClientGone = errors.New("chat: stream client gone")

// sseWriter writes one text/event-stream response (http-api.md §2.4.2): a
// frame is `data: <json>\n\n`, with an `id:` line first when it has one,
// flushed at once; after ping of silence it writes `: ping\n\n`. The ping is
// a timer, not a goroutine, so an idle stream costs little. It is safe for
// the relay and the ping timer to write concurrently.
type sseWriter struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	ping   time.Duration
	timer  *time.Timer
	buf    []byte
	err    error
	closed bool
	sent   bool // something was flushed: the headers are out
}

// openSSE sends the stream's headers and arms the ping timer. The headers
// are the reference's minus its wildcard CORS pair, which the CORS
// middleware decides instead (agents-and-data.md §9 note 8). They are
// flushed from another goroutine, unless a frame carries them first, so
// the caller goes straight on to start the model call: the write is then
// off the path to the first chunk.
func openSSE(w http.ResponseWriter, ping time.Duration) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w), ping: ping}
	s.mu.Lock()
	s.timer = time.AfterFunc(ping, s.sendPing)
	s.mu.Unlock()
	go s.sendHeaders()
	return s
}

// sendHeaders flushes the headers unless a frame or a ping did already.
func (s *sseWriter) sendHeaders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed || s.sent {
		return
	}
	s.flushLocked()
}

// send writes one frame; id 0 writes no id line. An error means the client
// is gone; later sends return it again without writing.
func (s *sseWriter) send(id int, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed {
		return errClientGone
	}
	b := s.buf[:0]
	if id > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	s.buf = b
	s.writeLocked(b)
	s.timer.Reset(s.ping)
	return s.err
}

// sendPing is the timer's callback.
func (s *sseWriter) sendPing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed {
		return
	}
	s.writeLocked([]byte(": ping\n\n"))
	s.timer.Reset(s.ping)
}

func (s *sseWriter) writeLocked(b []byte) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // unsupported writers just block
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("%w: %w", errClientGone, err)
		return
	}
	s.flushLocked()
}

func (s *sseWriter) flushLocked() {
	s.sent = true
	if err := s.rc.Flush(); err != nil {
		s.err = fmt.Errorf("%w: flush: %w", errClientGone, err)
	}
}

// failure is the first failed write's error, nil while the client reads.
func (s *sseWriter) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close stops the ping; nothing is written after it.
func (s *sseWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.timer.Stop()
}
