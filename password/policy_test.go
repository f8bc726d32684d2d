package password_test

import (
	"errors"
	"strings"
	"testing"

	"agentplane/password"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	const (
		short = "Password must be at least 14 characters long."
		few   = "Password must include at least two categories (upper, lower, digit, symbol)."
		weak  = "Password is too weak according to the current policy."
	)
	strong := "Zq7!vR2p#Lm9xW4t"
	tests := []struct {
		name  string
		pw    string
		hints []string
		want  string // "" = accepted
	}{
		{"empty", "", nil, short},
		{"13 characters", "Zq7!vR2p#Lm9x", nil, short},
		{"13 characters in 26 bytes", "ÄÖÜäöüßÄÖÜäöü", nil, short},
		{"one category", "abcdefghijklmnopq", nil, few},
		{"one category, digits", "12345678901234", nil, few},
		{"long but guessable", "aaaaaaaaaaaaaaaa1", nil, weak},
		{"common word and digits", "Password12345678", nil, weak},
		{"strong", strong, nil, ""},
		{"passphrase", "correct horse battery staple 9!", nil, ""},
		{"email without hint", "jane.doe@example.com!", nil, ""},
		{"email as hint", "jane.doe@example.com!", []string{"jane.doe@example.com"}, weak},
		{"empty hint ignored", strong, []string{""}, ""},
		{"long with strong start", strong + strings.Repeat("a", 2000), nil, ""},
		{"long with weak start", strings.Repeat("a", 72) + strong, nil, weak},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := password.Check(tc.pw, tc.hints...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want accepted", err)
				}
				return
			}
			var pe *password.PolicyError
			if !errors.Is(err, password.ErrPolicy) || !errors.As(err, &pe) {
				t.Fatalf("Check = %v, want a *PolicyError wrapping ErrPolicy", err)
			}
			if pe.Message != tc.want || pe.PublicDetail() != tc.want {
				t.Errorf("message = %q, want %q", pe.Message, tc.want)
			}
		})
	}
}
