package chat

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"agentplane/store"
)

// The stream operations (spec: http-api.md §2.4.2, DESIGN decision 14). A
// stream is a huma.StreamResponse written by sseWriter rather than huma's
// sse package: that package cannot write the `: ping` comment and compacts
// the error frame, whose Python separators are part of the wire format.

// resumeOptIn is the Last-Event-ID a POST sends to make its turn resumable.
const resumeOptIn = "0"

// detachedTurn bounds a resumable turn, which runs on when its client goes
// away: every model call and tool has a timeout of its own, this is the
// backstop.
const detachedTurn = 30 * time.Minute

// resumePoll is how often a resumed stream looks for new frames of a live
// turn; polling keeps a follower from holding a Redis connection.
const resumePoll = 100 * time.Millisecond

// resumeIdle ends a resumed stream whose live turn wrote nothing for this
// long (its replica died mid-turn).
const resumeIdle = 5 * time.Minute

type chatStreamInput struct {
	LastEventID string `header:"Last-Event-ID" doc:"Send 0 to make the stream resumable: frames then carry id: lines."`
	Body        chatBody
}

type resumeInput struct {
	ID          string `path:"conversation_id"`
	LastEventID string `header:"Last-Event-ID" doc:"The last frame id seen; absent or 0 replays the whole turn."`
}

// eventStream documents a text/event-stream 200 in the OpenAPI document.
func eventStream(desc string) map[string]*huma.Response {
	return map[string]*huma.Response{"200": {Description: desc, Content: map[string]*huma.MediaType{
		"text/event-stream": {Schema: &huma.Schema{Type: huma.TypeString,
			Description: `Frames "data: <json>\n\n" (chunk, conversation_id, is_complete, agent_used; or error), ` +
				`": ping" comments after 15 s of silence, "id: <n>" lines on resumable streams.`}},
	}}}
}

func registerStreams(api huma.API, h handlers) {
	huma.Register(api, huma.Operation{
		OperationID: "chat-stream", Method: http.MethodPost, Path: "/api/v1/chat/stream", Tags: []string{"Chat"},
		Summary: "Chat with an agent, streamed (SSE)", Responses: eventStream("The reply as server-sent events."),
		Middlewares: huma.Middlewares{h.streamQuota(api)},
	}, h.chatStream)
	huma.Register(api, huma.Operation{
		OperationID: "chat-stream-resume", Method: http.MethodGet, Path: "/api/v1/chat/stream/{conversation_id}",
		Tags: []string{"Chat"}, Summary: "Resume a resumable chat stream (SSE)",
		Description: "Replays the frames after Last-Event-ID of the conversation's latest resumable turn, " +
			"then follows the turn to its end.",
		Responses: eventStream("The rest of the turn as server-sent events."),
	}, h.resume)
}

func (h handlers) chatStream(ctx context.Context, in *chatStreamInput) (*huma.StreamResponse, error) {
	resumable := in.LastEventID == resumeOptIn
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if resumable { // the turn outlives its client, so a resume can see the rest
		runCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), detachedTurn)
	}
	sc := writer(ctx)
	p, err := h.svc.Begin(runCtx, sc, Turn{Message: in.Body.Message,
		ConversationID: deref(in.Body.ConversationID), AgentType: deref(in.Body.AgentType)})
	if err != nil {
		cancel()
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer cancel()
		_, w := humago.Unwrap(hc)
		sse := openSSE(w, h.svc.ping)
		defer sse.close()
		if resumable {
			h.svc.relayResumable(runCtx, sse, p, sc.TenantID)
		} else {
			h.svc.relay(runCtx, sse, p)
		}
		if err := sse.failure(); err != nil {
			h.svc.log.InfoContext(ctx, "chat stream client gone", "conversation_id", p.rawID, "error", err)
		}
	}}, nil
}

// relay writes the turn's frames to the client; when the client goes away
// the loop ends, which cancels the model call (the partial reply is kept).
func (s *Service) relay(ctx context.Context, sse *sseWriter, p *Pending) {
	for f, err := range p.Stream(ctx) {
		if err != nil {
			f = s.failedFrame(ctx, p, err)
		}
		if sse.send(0, f.Wire()) != nil {
			return
		}
	}
}

// relayResumable runs the turn to its end whatever the client does: each
// frame goes to the turn log first (so a resume sees it), then to the
// client while it is there.
func (s *Service) relayResumable(ctx context.Context, sse *sseWriter, p *Pending, tenantID string) {
	log := s.turns
	if err := log.Begin(ctx, tenantID, p.key); err != nil {
		s.log.WarnContext(ctx, "chat stream is not resumable: the turn log failed", "error", err)
		log = nil
	}
	id := 0
	for f, err := range p.Stream(ctx) {
		if err != nil {
			f = s.failedFrame(ctx, p, err)
		}
		id++
		data := f.Wire()
		if log != nil {
			if err := log.Append(ctx, tenantID, p.key, id, data); err != nil {
				s.log.WarnContext(ctx, "chat turn log append failed", "error", err)
			}
		}
		_ = sse.send(id, data) // a gone client may resume from the log
	}
	if log != nil {
		if err := log.End(ctx, tenantID, p.key, id); err != nil {
			s.log.WarnContext(ctx, "chat turn log end failed", "error", err)
		}
	}
}

// failedFrame logs a failed turn with its cause and returns its error frame.
func (s *Service) failedFrame(ctx context.Context, p *Pending, err error) Frame {
	if errors.Is(err, context.Canceled) { // the client went away, or the server is stopping
		s.log.InfoContext(ctx, "chat stream cancelled", "conversation_id", p.rawID, "error", err)
	} else {
		s.log.ErrorContext(ctx, "chat stream failed", "conversation_id", p.rawID, "error", err)
	}
	return ErrorFrame(p.rawID, err)
}

func (h handlers) resume(ctx context.Context, in *resumeInput) (*huma.StreamResponse, error) {
	after := 0
	if in.LastEventID != "" {
		n, err := strconv.Atoi(in.LastEventID)
		if err != nil || n < 0 {
			return nil, huma.Error422UnprocessableEntity("Last-Event-ID must be a frame id (an integer ≥ 0).",
				&huma.ErrorDetail{Location: "header.Last-Event-ID", Message: "must be an integer ≥ 0", Value: in.LastEventID})
		}
		after = n
	}
	sc := reader(ctx)
	key, err := h.svc.resumable(ctx, sc, in.ID)
	if err != nil {
		return nil, err
	}
	frames, ended, err := h.svc.turns.Read(ctx, sc.TenantID, key, after)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noResumableTurn(in.ID)
	}
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		_, w := humago.Unwrap(hc)
		sse := openSSE(w, h.svc.ping)
		defer sse.close()
		h.svc.follow(ctx, sse, sc.TenantID, key, after, frames, ended)
	}}, nil
}

// resumable checks that the caller may see conversation id and returns its
// key; an unknown or foreign one is ErrConversationNotFound.
func (s *Service) resumable(ctx context.Context, sc Scope, id string) (string, error) {
	_, key, err := store.ConversationID(id)
	if err == nil {
		_, err = s.store.Conversations().SessionState(ctx, sc.TenantID, sc.UserID, id)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidConversationID) {
		return "", conversationNotFound(id, err)
	}
	return key, err
}

// follow writes frames, then polls the log for the rest of a live turn
// until its end, the client leaving, or resumeIdle without a frame.
func (s *Service) follow(ctx context.Context, sse *sseWriter, tenantID, key string, after int,
	frames []store.LoggedFrame, ended bool) {
	tick := time.NewTicker(resumePoll)
	defer tick.Stop()
	last, lastAt := after, time.Now()
	for {
		for _, f := range frames {
			if sse.send(f.ID, f.Data) != nil {
				return
			}
			last, lastAt = f.ID, time.Now()
		}
		if ended || time.Since(lastAt) > resumeIdle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var err error
		frames, ended, err = s.turns.Read(ctx, tenantID, key, last)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "chat stream resume stopped: the turn log failed", "error", err)
			}
			return
		}
	}
}
