package chatui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"agentplane/server/chat"
)

// Session is the part of a login or refresh answer the CLI keeps
// (spec: http-api.md §2.2).
type Session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// RemoteConfig configures a Remote.
type RemoteConfig struct {
	BaseURL string // the server, e.g. http://127.0.0.1:8000
	Session Session
	// OnRefresh is called with the new session after the access token was
	// renewed with the refresh token (so a saved profile can be updated).
	OnRefresh func(Session)
	// Client defaults to one without an overall timeout (streams are long);
	// plain calls get callTimeout through their context.
	Client *http.Client
	// IdleTimeout ends a stream connection that sends nothing, not even a
	// ping, for that long, and resumes it (default 60 s).
	IdleTimeout time.Duration
	// Backoff are the waits before each resume attempt of one cut stream
	// (default 0, 1 s, 3 s).
	Backoff []time.Duration
}

// Remote is the Backend of a server reached over its HTTP API
// (spec: http-api.md §2.4, §2.5; DESIGN decision 14 for resuming).
type Remote struct {
	base      string
	client    *http.Client
	idle      time.Duration
	backoff   []time.Duration
	onRefresh func(Session)

	mu      sync.Mutex
	session Session
}

// callTimeout bounds a plain request; a blocking chat turn is the longest.
const callTimeout = 3 * time.Minute

// NewRemote checks the base URL and builds a Remote.
func NewRemote(c RemoteConfig) (*Remote, error) {
	base, err := BaseURL(c.BaseURL)
	if err != nil {
		return nil, err
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: callTimeout, IdleConnTimeout: 90 * time.Second,
		}}
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = time.Minute
	}
	if c.Backoff == nil {
		c.Backoff = []time.Duration{0, time.Second, 3 * time.Second}
	}
	return &Remote{base: base, client: c.Client, idle: c.IdleTimeout, backoff: c.Backoff,
		onRefresh: c.OnRefresh, session: c.Session}, nil
}

// BaseURL normalizes --api-url: an http(s) URL without a trailing slash.
func BaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--api-url %q: want an http:// or https:// URL such as http://127.0.0.1:8000", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Login exchanges email and password for a session at POST /api/v1/auth/token.
func Login(ctx context.Context, client *http.Client, baseURL, email, password string) (Session, error) {
	r, err := NewRemote(RemoteConfig{BaseURL: baseURL, Client: client})
	if err != nil {
		return Session{}, err
	}
	var s Session
	err = r.call(ctx, http.MethodPost, "/api/v1/auth/token", map[string]string{"email": email, "password": password}, &s)
	return s, err
}

// Agents is GET /api/v1/agents.
func (r *Remote) Agents(ctx context.Context) (out []chat.AgentSummary, err error) {
	return out, r.call(ctx, http.MethodGet, "/api/v1/agents", nil, &out)
}

// Tools is GET /api/v1/tools.
func (r *Remote) Tools(ctx context.Context) (out chat.ToolsOverview, err error) {
	return out, r.call(ctx, http.MethodGet, "/api/v1/tools", nil, &out)
}

// Conversations is GET /api/v1/conversations?limit=N.
func (r *Remote) Conversations(ctx context.Context, limit int) (out []chat.ConversationSummary, err error) {
	return out, r.call(ctx, http.MethodGet, "/api/v1/conversations?limit="+strconv.Itoa(limit), nil, &out)
}

// Conversation is GET /api/v1/conversations/{id}.
func (r *Remote) Conversation(ctx context.Context, id string) (out chat.ConversationHistory, err error) {
	return out, r.call(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(id), nil, &out)
}

// Chat is the blocking POST /api/v1/chat.
func (r *Remote) Chat(ctx context.Context, t chat.Turn) (out chat.Reply, err error) {
	return out, r.call(ctx, http.MethodPost, "/api/v1/chat", turnBody(t), &out)
}

// turnBody is the chat request body (http-api.md §2.4.1); empty fields are null.
func turnBody(t chat.Turn) map[string]any {
	b := map[string]any{"message": t.Message, "conversation_id": nil, "agent_type": nil}
	if t.ConversationID != "" {
		b["conversation_id"] = t.ConversationID
	}
	if t.AgentType != "" {
		b["agent_type"] = t.AgentType
	}
	return b
}

// call sends a JSON request and decodes a 2xx answer into out.
func (r *Remote) call(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.send(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// send does one request with the bearer token; a 401 is retried once after
// renewing the access token when a refresh token is known. A non-2xx answer
// is an error carrying the envelope's message.
func (r *Remote) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		s := r.current()
		if s.AccessToken != "" {
			req.Header.Set("Authorization", "Bearer "+s.AccessToken)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, r.base+path, err)
		}
		if resp.StatusCode/100 == 2 {
			return resp, nil
		}
		apiErr := readAPIError(resp)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && s.RefreshToken != "" && path != refreshPath {
			if r.refresh(ctx, s) == nil {
				continue
			}
		}
		return nil, apiErr
	}
}

const refreshPath = "/api/v1/auth/refresh"

func (r *Remote) current() Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.session
}

// refresh renews the session at POST /api/v1/auth/refresh, unless another
// request already did.
func (r *Remote) refresh(ctx context.Context, old Session) error {
	r.mu.Lock()
	renewed := r.session.AccessToken != old.AccessToken
	r.mu.Unlock()
	if renewed {
		return nil
	}
	var s Session
	resp, err := r.send(ctx, http.MethodPost, refreshPath, map[string]string{"refresh_token": old.RefreshToken}, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.AccessToken == "" {
		return errors.New("unreadable refresh answer")
	}
	if s.RefreshToken == "" {
		s.RefreshToken = old.RefreshToken // a service account's is not rotated
	}
	r.mu.Lock()
	r.session = s
	r.mu.Unlock()
	if r.onRefresh != nil {
		r.onRefresh(s)
	}
	return nil
}

// APIError is a non-2xx answer of the server, with the envelope's message
// (spec: http-api.md §1.3).
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return e.Message + " (log in again: run without --token in a terminal, or pass a valid --token)"
	}
	return e.Message
}

// readAPIError reads and closes an error answer.
func readAPIError(resp *http.Response) error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
		Detail  any    `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(raw, &env) == nil {
		switch {
		case env.Message != "":
			msg = env.Message
		case env.Error != nil:
			msg = fmt.Sprint(env.Error)
		case env.Detail != nil:
			msg = fmt.Sprint(env.Detail)
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Message: fmt.Sprintf("%s (HTTP %d)", msg, resp.StatusCode)}
}

// Stream is POST /api/v1/chat/stream, opted into resumable streams
// (DESIGN decision 14): when the connection drops or goes silent before the
// completion frame, it reconnects with GET /api/v1/chat/stream/{id} and
// Last-Event-ID set to the last frame seen, so no frame is lost or repeated.
func (r *Remote) Stream(ctx context.Context, t chat.Turn) iter.Seq2[chat.Frame, error] {
	return func(yield func(chat.Frame, error) bool) {
		convID, lastID, sawID, attempt := t.ConversationID, 0, false, 0
		open := func() (*http.Response, error) {
			return r.send(ctx, http.MethodPost, "/api/v1/chat/stream", turnBody(t), streamHeader(0))
		}
		for {
			resp, err := open()
			var cut error
			progressed := false
			if err != nil {
				var apiErr *APIError
				if attempt == 0 || errors.As(err, &apiErr) || ctx.Err() != nil {
					if apiErr != nil && attempt > 0 && apiErr.Status == http.StatusNotFound {
						err = fmt.Errorf("the reply stream was cut and the server cannot resume it: %w", err)
					}
					yield(chat.Frame{}, err)
					return
				}
				cut = err // the server is unreachable while resuming: try again
			} else {
				var done, stopped bool
				done, stopped, cut = r.readFrames(ctx, resp, func(f chat.Frame) bool {
					progressed = true
					if f.ID > 0 {
						lastID, sawID = f.ID, true
					}
					if f.ConversationID != "" {
						convID = f.ConversationID
					}
					return yield(f, nil)
				})
				if done || stopped {
					return
				}
			}
			if progressed {
				attempt = 0
			}
			if ctx.Err() != nil {
				yield(chat.Frame{}, ctx.Err())
				return
			}
			if convID == "" || (progressed && !sawID) || attempt >= len(r.backoff) {
				yield(chat.Frame{}, fmt.Errorf("the reply stream was cut: %w", cut))
				return
			}
			if err := sleep(ctx, r.backoff[attempt]); err != nil {
				yield(chat.Frame{}, err)
				return
			}
			attempt++
			id, from := convID, lastID
			open = func() (*http.Response, error) {
				return r.send(ctx, http.MethodGet, "/api/v1/chat/stream/"+url.PathEscape(id), nil, streamHeader(from))
			}
		}
	}
}

func streamHeader(lastID int) http.Header {
	return http.Header{"Accept": {"text/event-stream"}, "Last-Event-Id": {strconv.Itoa(lastID)}}
}

// readFrames reads one stream connection and closes it. done: the
// completion (or error) frame arrived; stopped: yield asked to stop; else the
// connection ended early with cut.
func (r *Remote) readFrames(ctx context.Context, resp *http.Response, yield func(chat.Frame) bool) (done, stopped bool, cut error) {
	defer resp.Body.Close()
	// silence for r.idle closes the body, which ends the read below
	watchdog := time.AfterFunc(r.idle, func() { resp.Body.Close() })
	defer watchdog.Stop()
	var idle bool
	events := readSSE(resp.Body, func() { watchdog.Reset(r.idle) })
	for ev, err := range events {
		if err != nil {
			if !watchdog.Stop() {
				idle = true
			}
			if idle && ctx.Err() == nil {
				return false, false, fmt.Errorf("no data for %s", r.idle)
			}
			return false, false, err
		}
		var f chat.Frame
		if err := json.Unmarshal([]byte(ev.data), &f); err != nil {
			return false, false, fmt.Errorf("unreadable frame %q: %w", ev.data, err)
		}
		f.ID = ev.id
		if !yield(f) {
			return false, true, nil
		}
		if f.IsComplete {
			return true, false, nil
		}
	}
	return false, false, io.ErrUnexpectedEOF
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
