package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultResendBaseURL is RESEND_BASE_URL's default.
const DefaultResendBaseURL = "https://api.resend.com"

// maxResendBody bounds what is read of a Resend answer.
const maxResendBody = 64 << 10

// ResendConfig configures the Resend sender (RESEND_BASE_URL, RESEND_API_KEY,
// RESEND_DEFAULT_FROM). A nil Client gets one with a 10 s timeout; Recorder is optional.
type ResendConfig struct {
	BaseURL  string
	APIKey   string
	From     string
	Client   *http.Client
	Recorder Recorder
}

// Resend sends through Resend's POST /emails (spec: auth-and-keys.md §12).
type Resend struct {
	url    string
	key    string
	from   string
	client *http.Client
	rec    Recorder
}

// NewResend checks the configuration; a missing API key or from address is
// ErrNotConfigured.
func NewResend(c ResendConfig) (*Resend, error) {
	if c.APIKey == "" || c.From == "" {
		return nil, ErrNotConfigured
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultResendBaseURL
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Resend{
		url:    strings.TrimRight(c.BaseURL, "/") + "/emails",
		key:    c.APIKey,
		from:   c.From,
		client: c.Client,
		rec:    c.Recorder,
	}, nil
}

// String names the endpoint without the API key.
func (r *Resend) String() string { return "resend " + r.url }

type resendTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type resendTemplate struct {
	ID        string         `json:"id"`
	Variables map[string]any `json:"variables,omitempty"`
}

// resendEmail is the body of POST /emails: html and text, or a stored template
// (Resend refuses both at once).
type resendEmail struct {
	From     string          `json:"from"`
	To       []string        `json:"to"`
	Subject  string          `json:"subject"`
	HTML     string          `json:"html,omitempty"`
	Text     string          `json:"text,omitempty"`
	Template *resendTemplate `json:"template,omitempty"`
	Tags     []resendTag     `json:"tags,omitempty"`
}

// Send posts m. Any transport failure or non-2xx answer is an error wrapping
// ErrDelivery that names the status and Resend's message, never the API key.
func (r *Resend) Send(ctx context.Context, m Message) error {
	start := time.Now()
	err := r.send(ctx, m)
	if r.rec != nil {
		result := "success"
		if err != nil {
			result = "error"
		}
		r.rec.EmailSent(m.Category, result, time.Since(start))
	}
	return err
}

func (r *Resend) send(ctx context.Context, m Message) error {
	body, err := json.Marshal(r.body(m))
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrDelivery, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: resend: %w", ErrDelivery, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResendBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: resend answered %d: %s", ErrDelivery, resp.StatusCode, r.reason(raw))
	}
	return nil
}

func (r *Resend) body(m Message) resendEmail {
	e := resendEmail{From: r.from, To: []string{m.To}, Subject: m.Subject}
	if m.TemplateID != "" {
		e.Template = &resendTemplate{ID: m.TemplateID, Variables: m.TemplateVars}
	} else {
		e.HTML, e.Text = m.HTML, m.Text
	}
	for _, name := range slices.Sorted(maps.Keys(m.Tags)) {
		e.Tags = append(e.Tags, resendTag{Name: name, Value: m.Tags[name]})
	}
	return e
}

// reason is Resend's error message ({"statusCode", "name", "message"}), else the start
// of the raw body, with the API key blanked should it ever be echoed.
func (r *Resend) reason(raw []byte) string {
	var doc struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &doc) == nil && doc.Message != "" {
		msg = doc.Message
		if doc.Name != "" {
			msg = doc.Name + ": " + msg
		}
	}
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "…"
	}
	if msg == "" {
		msg = "(empty body)"
	}
	return strings.ReplaceAll(msg, r.key, "[redacted]")
}
