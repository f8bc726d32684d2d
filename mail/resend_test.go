package mail_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"agentplane/mail"
)

const apiKey = "re_test_secret_key"

// fakeResend speaks Resend's POST /emails: it checks the method, path and headers,
// keeps the decoded body and answers with status and body.
type fakeResend struct {
	t      *testing.T
	status int
	answer string

	mu   sync.Mutex
	got  []map[string]any
	errs []string
}

func (f *fakeResend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		f.errs = append(f.errs, "request "+r.Method+" "+r.URL.Path+", want POST /emails")
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+apiKey {
		f.errs = append(f.errs, "Authorization = "+got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		f.errs = append(f.errs, "Content-Type = "+got)
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		f.errs = append(f.errs, "body is not JSON: "+string(raw))
	}
	f.got = append(f.got, body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, f.answer)
}

func (f *fakeResend) check() []map[string]any {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.errs {
		f.t.Error(e)
	}
	return f.got
}

type recorded struct {
	Category, Result string
}

type fakeRecorder struct {
	mu  sync.Mutex
	got []recorded
}

func (r *fakeRecorder) EmailSent(category, result string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d < 0 {
		result += " (negative duration)"
	}
	r.got = append(r.got, recorded{category, result})
}

func newResend(t *testing.T, status int, answer string) (*mail.Resend, *fakeResend, *fakeRecorder) {
	t.Helper()
	fake := &fakeResend{t: t, status: status, answer: answer}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	rec := &fakeRecorder{}
	r, err := mail.NewResend(mail.ResendConfig{
		BaseURL: srv.URL + "/", APIKey: apiKey, From: "Acme <support@example.com>",
		Client: srv.Client(), Recorder: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, fake, rec
}

func TestResendSend(t *testing.T) {
	t.Parallel()
	const token = "0123abcd.ef"
	plain := mail.VerificationEmail("Acme", "https://app.example.com", "jane@example.com", token, expires)
	templated := plain
	templated.TemplateID = "tmpl_verify"

	tests := []struct {
		name string
		msg  mail.Message
		want map[string]any
	}{
		{"plain", plain, map[string]any{
			"from":    "Acme <support@example.com>",
			"to":      []any{"jane@example.com"},
			"subject": "Verify your email for Acme",
			"html":    plain.HTML,
			"text":    plain.Text,
			"tags":    []any{map[string]any{"name": "category", "value": "email_verification"}},
		}},
		{"template", templated, map[string]any{
			"from":    "Acme <support@example.com>",
			"to":      []any{"jane@example.com"},
			"subject": "Verify your email for Acme",
			"template": map[string]any{
				"id": "tmpl_verify",
				"variables": map[string]any{
					"token": token, "expires_at": "2025-11-06T14:38:27+00:00", "app_name": "Acme",
				},
			},
			"tags": []any{map[string]any{"name": "category", "value": "email_verification"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, fake, rec := newResend(t, http.StatusOK, `{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}`)
			if err := r.Send(t.Context(), tc.msg); err != nil {
				t.Fatal(err)
			}
			got := fake.check()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			if diff := cmp.Diff(tc.want, got[0]); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]recorded{{"email_verification", "success"}}, rec.got); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		answer string
		want   []string
	}{
		{"validation", http.StatusUnprocessableEntity,
			`{"statusCode":422,"name":"validation_error","message":"The from field is invalid."}`,
			[]string{"422", "validation_error: The from field is invalid."}},
		{"key echoed", http.StatusUnauthorized,
			`{"statusCode":401,"name":"invalid_api_key","message":"API key ` + apiKey + ` is invalid"}`,
			[]string{"401", "invalid_api_key", "[redacted]"}},
		{"not JSON", http.StatusBadGateway, "upstream down", []string{"502", "upstream down"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, fake, rec := newResend(t, tc.status, tc.answer)
			err := r.Send(t.Context(), mail.PasswordResetEmail("Acme", "https://x", "a@b.c", "tok", expires))
			fake.check()
			if !errors.Is(err, mail.ErrDelivery) {
				t.Fatalf("err = %v, want ErrDelivery", err)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error %q reveals the API key", err)
			}
			if diff := cmp.Diff([]recorded{{"password_reset", "error"}}, rec.got); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResendUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r, err := mail.NewResend(mail.ResendConfig{BaseURL: srv.URL, APIKey: apiKey, From: "a@b.c"})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Send(t.Context(), mail.Message{To: "x@y.z", Subject: "s", Text: "t"})
	if !errors.Is(err, mail.ErrDelivery) || strings.Contains(err.Error(), apiKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewResend(t *testing.T) {
	t.Parallel()
	for _, c := range []mail.ResendConfig{{From: "a@b.c"}, {APIKey: apiKey}} {
		if _, err := mail.NewResend(c); !errors.Is(err, mail.ErrNotConfigured) {
			t.Errorf("NewResend(%+v) err = %v, want ErrNotConfigured", c, err)
		}
	}
	r, err := mail.NewResend(mail.ResendConfig{APIKey: apiKey, From: "a@b.c"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String(); got != "resend https://api.resend.com/emails" {
		t.Errorf("String() = %q", got)
	}
}
