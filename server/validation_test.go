package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-cmp/cmp"

	"agentplane/server/servertest"
)

type createWidgetInput struct {
	Body struct {
		Name string `json:"name" maxLength:"5" minLength:"2"`
		Kind string `json:"kind,omitempty" enum:"a,b,c"`
	}
}

type getWidgetInput struct {
	ID    string `path:"id" format:"uuid"`
	Limit int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type widgetOutput struct {
	Body struct {
		OK bool `json:"ok"`
	}
}

// validationEnv registers a body route and a path/query route.
func validationEnv(t *testing.T) *servertest.Env {
	env := servertest.New(t)
	ok := func() *widgetOutput { o := &widgetOutput{}; o.Body.OK = true; return o }
	env.Allow("test-create-widget", "test-get-widget")
	huma.Register(env.Server.API(), huma.Operation{
		OperationID: "test-create-widget", Method: http.MethodPost, Path: "/t/widgets",
	}, func(context.Context, *createWidgetInput) (*widgetOutput, error) { return ok(), nil })
	huma.Register(env.Server.API(), huma.Operation{
		OperationID: "test-get-widget", Method: http.MethodGet, Path: "/t/widgets/{id}",
	}, func(context.Context, *getWidgetInput) (*widgetOutput, error) { return ok(), nil })
	return env
}

const widgetID = "0b8e4a4c-93a4-4d8f-9a0e-0d3c51e6c9a1"

func TestValidationEnvelope(t *testing.T) {
	t.Parallel()
	env := validationEnv(t)
	cases := []struct {
		name        string
		method      string
		target      string
		contentType string // "" = application/json when there is a body
		body        *string
		status      int
		want        any
		ignoreMsg   bool // the parser's own words differ from Python's
	}{
		{name: "valid body", method: "POST", target: "/t/widgets", body: ptr(`{"name":"abc","kind":"b"}`),
			status: 200, want: map[string]any{"ok": true}},
		{name: "missing field", method: "POST", target: "/t/widgets", body: ptr(`{}`), status: 422,
			want: validation(map[string]any{"type": "missing", "loc": []any{"body", "name"}, "msg": "Field required", "input": map[string]any{}})},
		{name: "string too long", method: "POST", target: "/t/widgets", body: ptr(`{"name":"abcdefg"}`), status: 422,
			want: validation(map[string]any{"type": "string_too_long", "loc": []any{"body", "name"},
				"msg": "String should have at most 5 characters", "input": "abcdefg", "ctx": map[string]any{"max_length": 5}})},
		{name: "string too short", method: "POST", target: "/t/widgets", body: ptr(`{"name":"a"}`), status: 422,
			want: validation(map[string]any{"type": "string_too_short", "loc": []any{"body", "name"},
				"msg": "String should have at least 2 characters", "input": "a", "ctx": map[string]any{"min_length": 2}})},
		{name: "malformed JSON", method: "POST", target: "/t/widgets", body: ptr(`{"name": }`), status: 422,
			want: validation(map[string]any{"type": "json_invalid", "loc": []any{"body", 9}, "msg": "JSON decode error",
				"input": map[string]any{}, "ctx": map[string]any{"error": "invalid character '}' looking for beginning of value"}})},
		{name: "malformed JSON after a non-ASCII string", method: "POST", target: "/t/widgets", body: ptr(`{"name":"é" "x"}`), status: 422,
			want: validation(map[string]any{"type": "json_invalid", "loc": []any{"body", 12}, "msg": "JSON decode error",
				"input": map[string]any{}, "ctx": map[string]any{"error": "invalid character '\"' after object key:value pair"}})},
		{name: "truncated JSON", method: "POST", target: "/t/widgets", body: ptr(`{"name":"abc"`), status: 422,
			want: validation(map[string]any{"type": "json_invalid", "loc": []any{"body", 13}, "msg": "JSON decode error",
				"input": map[string]any{}, "ctx": map[string]any{"error": "unexpected end of JSON input"}})},
		{name: "empty body on a required-body route", method: "POST", target: "/t/widgets", body: ptr(``), status: 422,
			want: validation(map[string]any{"type": "missing", "loc": []any{"body"}, "msg": "Field required", "input": nil})},
		{name: "no body at all", method: "POST", target: "/t/widgets", status: 422,
			want: validation(map[string]any{"type": "missing", "loc": []any{"body"}, "msg": "Field required", "input": nil})},
		{name: "text/plain body", method: "POST", target: "/t/widgets", contentType: "text/plain", body: ptr(`{"name":"abc"}`), status: 422,
			want: validation(map[string]any{"type": "model_attributes_type", "loc": []any{"body"},
				"msg": "Input should be a valid dictionary or object to extract fields from", "input": `{"name":"abc"}`})},
		{name: "extra property", method: "POST", target: "/t/widgets", body: ptr(`{"name":"abc","color":1}`), status: 422,
			want: validation(map[string]any{"type": "extra_forbidden", "loc": []any{"body", "color"},
				"msg": "Extra inputs are not permitted", "input": 1})},
		{name: "enum", method: "POST", target: "/t/widgets", body: ptr(`{"name":"abc","kind":"z"}`), status: 422,
			want: validation(map[string]any{"type": "literal_error", "loc": []any{"body", "kind"},
				"msg": "Input should be 'a', 'b' or 'c'", "input": "z", "ctx": map[string]any{"expected": "'a', 'b' or 'c'"}})},
		{name: "wrong JSON type", method: "POST", target: "/t/widgets", body: ptr(`{"name":5}`), status: 422,
			want: validation(map[string]any{"type": "string_type", "loc": []any{"body", "name"},
				"msg": "Input should be a valid string", "input": 5})},
		{name: "valid path and query", method: "GET", target: "/t/widgets/" + widgetID + "?limit=100", status: 200,
			want: map[string]any{"ok": true}},
		{name: "bad uuid", method: "GET", target: "/t/widgets/abc", status: 422, ignoreMsg: true,
			want: validation(map[string]any{"type": "uuid_parsing", "loc": []any{"path", "id"}, "input": "abc"})},
		{name: "query above maximum", method: "GET", target: "/t/widgets/" + widgetID + "?limit=101", status: 422,
			want: validation(map[string]any{"type": "less_than_equal", "loc": []any{"query", "limit"},
				"msg": "Input should be less than or equal to 100", "input": 101, "ctx": map[string]any{"le": 100}})},
		{name: "query below minimum", method: "GET", target: "/t/widgets/" + widgetID + "?limit=0", status: 422,
			want: validation(map[string]any{"type": "greater_than_equal", "loc": []any{"query", "limit"},
				"msg": "Input should be greater than or equal to 1", "input": 0, "ctx": map[string]any{"ge": 1}})},
		{name: "query not an integer", method: "GET", target: "/t/widgets/" + widgetID + "?limit=abc", status: 422,
			want: validation(map[string]any{"type": "int_parsing", "loc": []any{"query", "limit"},
				"msg": "Input should be a valid integer, unable to parse string as an integer", "input": "abc"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := env.Request(tc.method, tc.target, nil)
			if tc.body != nil {
				req = env.JSONRequest(tc.method, tc.target, *tc.body)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := env.Do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var opts []cmp.Option
			if tc.ignoreMsg {
				opts = append(opts, ignoreItemKeys("msg", "ctx"))
			}
			checkBody(t, rec, tc.want, opts...)
			if tc.ignoreMsg {
				item := decode(t, rec).(map[string]any)["details"].([]any)[0].(map[string]any)
				msg, _ := item["msg"].(string)
				ctx, _ := item["ctx"].(map[string]any)
				if !strings.HasPrefix(msg, "Input should be a valid UUID, ") || ctx == nil || ctx["error"] == nil ||
					msg != "Input should be a valid UUID, "+ctx["error"].(string) {
					t.Errorf("uuid item msg %q ctx %v", msg, ctx)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// ignoreItemKeys drops keys of validation items (the parser's wording); the
// envelope's own keys are "error"/"message", so no other key has these names.
func ignoreItemKeys(keys ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		mi, ok := p.Last().(cmp.MapIndex)
		return ok && slices.Contains(keys, mi.Key().String())
	}, cmp.Ignore())
}
