package request

import (
	"context"
	"log/slog"
)

// LogHandler adds the request's correlation_id to every record logged with
// a ...Context method, so no code fetches a logger from the context
// (spec: cli-config-ops.md §8.3).
type LogHandler struct{ slog.Handler }

// Handle adds correlation_id when ctx carries one.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := CorrelationID(ctx); ok {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
