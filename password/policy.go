package password

import (
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// Policy thresholds (spec: auth-and-keys.md §6.2).
const (
	MinLength     = 14 // characters (code points), as Python's len
	MinCategories = 2  // of upper, lower, digit, other
	MinScore      = 3  // zxcvbn score, 0–4
)

// maxScored bounds the characters zxcvbn looks at. Its matching cost grows faster than
// the square of the length (≈20 ms at 72 characters, ≈0.4 s at 256, ≈37 s at 1,024), so
// an unbounded check would let one request burn a core. A long password is judged by
// its first 72 characters, bcrypt's own window and zxcvbn-python's default max_length;
// a prefix is no stronger than the whole, so this errs only on the strict side.
const maxScored = 72

// The policy messages, verbatim (spec: auth-and-keys.md §6.2).
const (
	msgTooShort      = "Password must be at least 14 characters long."
	msgFewCategories = "Password must include at least two categories (upper, lower, digit, symbol)."
	msgTooWeak       = "Password is too weak according to the current policy."
)

// Check applies the password policy in the reference's order: length, character
// categories, then zxcvbn strength with hints (such as the account's email) as user
// inputs. A failure is a *PolicyError wrapping ErrPolicy (spec: auth-and-keys.md §6.2).
func Check(pw string, hints ...string) error {
	if utf8.RuneCountInString(pw) < MinLength {
		return &PolicyError{Message: msgTooShort}
	}
	if categories(pw) < MinCategories {
		return &PolicyError{Message: msgFewCategories}
	}
	if Score(pw, hints...) < MinScore {
		return &PolicyError{Message: msgTooWeak}
	}
	return nil
}

// Score is the zxcvbn score (0–4) of pw, with the non-empty hints as user inputs.
func Score(pw string, hints ...string) int {
	inputs := make([]string, 0, len(hints))
	for _, h := range hints {
		if h != "" {
			inputs = append(inputs, h)
		}
	}
	return zxcvbn.PasswordStrength(prefix(pw, maxScored), inputs).Score
}

// categories counts the ASCII classes [A-Z], [a-z], [0-9] and [^A-Za-z0-9] present in pw.
func categories(pw string) int {
	var upper, lower, digit, other int
	for _, r := range pw {
		switch {
		case 'A' <= r && r <= 'Z':
			upper = 1
		case 'a' <= r && r <= 'z':
			lower = 1
		case '0' <= r && r <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return upper + lower + digit + other
}

// prefix returns the first n characters of s.
func prefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
