package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints instead of its value.
const redacted = "[redacted]"

// Secret is a setting that must never reach a log, an error or a JSON body: every way of printing it
// (fmt verbs, slog, encoding/json) shows "[redacted]", or "" when it is empty so that "not set" stays
// visible. Reveal returns the value for the one place that needs it (STYLE.md §8).
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]" ("" for an empty secret).
func (s Secret) String() string { return s.shown() }

// GoString returns the quoted redaction, so %#v does not print the value either.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// Format makes every fmt verb (%v, %+v, %s, %q, %x, %d, ...) print the redaction.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.shown()))
	default:
		_, _ = f.Write([]byte(s.shown()))
	}
}

// LogValue implements slog.LogValuer: loggers see "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON encodes the redaction, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalText encodes the redaction, never the value (encoding/xml, map keys, text loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
