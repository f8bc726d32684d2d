package password_test

import (
	"testing"

	"agentplane/password"
)

// BenchmarkHashCost12 measures one v3 hash at the production cost (signup, password
// change, rehash on login).
func BenchmarkHashCost12(b *testing.B) {
	h, err := password.NewHasher(pepper, password.DefaultCost, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := h.Hash(b.Context(), "Correct-Horse-Battery-9"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCost12 measures a successful v3 login check at the production cost;
// logins/s per server ≈ 1e9 / (ns/op) × cores.
func BenchmarkVerifyCost12(b *testing.B) {
	h, err := password.NewHasher(pepper, password.DefaultCost, 0)
	if err != nil {
		b.Fatal(err)
	}
	hash, _, err := h.Hash(b.Context(), "Correct-Horse-Battery-9")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "Correct-Horse-Battery-9", hash); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkCheck measures the policy check of a strong 72-character password, the most
// zxcvbn ever scores.
func BenchmarkCheck(b *testing.B) {
	pw := "Zq7!vR2p#Lm9xW4t-correct-horse-battery-staple-9!-Tr0ub4dour&3-abcdefghij"
	b.ReportAllocs()
	for b.Loop() {
		if err := password.Check(pw, "jane.doe@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
