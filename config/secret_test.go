package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "sk_live_supersecret"
	s := Secret(value)
	type holder struct {
		Name string
		Key  Secret
		Ptr  *Secret
	}
	h := holder{Name: "n", Key: s, Ptr: &s}

	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", s),
		"%s":         fmt.Sprintf("%s", s),
		"%+v":        fmt.Sprintf("%+v", s),
		"%#v":        fmt.Sprintf("%#v", s),
		"%q":         fmt.Sprintf("%q", s),
		"%x":         fmt.Sprintf("%x", s),
		"%d":         fmt.Sprintf("%d", s),
		"Sprint":     fmt.Sprint(s),
		"struct %v":  fmt.Sprintf("%v", h),
		"struct %+v": fmt.Sprintf("%+v", h),
		"struct %#v": fmt.Sprintf("%#v", h),
		"String":     s.String(),
		"GoString":   s.GoString(),
	}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(js)

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("msg", "key", s, "holder", h)
	outputs["slog json"] = buf.String()
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "key", s, "holder", h)
	outputs["slog text"] = buf.String()

	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %q, want it to show [redacted]", name, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}
	if !strings.Contains(outputs["json"], `"Key":"[redacted]"`) {
		t.Errorf("json = %s", outputs["json"])
	}
	if !strings.Contains(outputs["slog json"], `"key":"[redacted]"`) {
		t.Errorf("slog json = %s", outputs["slog json"])
	}
}

func TestEmptySecretPrintsEmpty(t *testing.T) {
	t.Parallel()
	var s Secret
	if got := fmt.Sprintf("%v|%s|%q", s, s, s); got != `||""` {
		t.Errorf("empty secret prints %q", got)
	}
	js, _ := json.Marshal(s)
	if string(js) != `""` {
		t.Errorf("json = %s", js)
	}
	if !s.IsZero() || Secret("x").IsZero() {
		t.Error("IsZero wrong")
	}
}
