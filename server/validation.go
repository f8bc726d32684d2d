package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	humavalidation "github.com/danielgtaylor/huma/v2/validation"
)

// Item is one entry of the validation envelope (spec http-api.md §1.4), in
// pydantic v2's vocabulary, which the reference's clients know.
type Item struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

func validationEnvelope(items []Item) *Envelope {
	return &Envelope{
		status: http.StatusUnprocessableEntity, Detail: "ValidationError",
		Message: "Request validation failed.", Details: items,
	}
}

// validation turns huma's error details into §1.4 items.
func validation(errs []error) *Envelope {
	items := make([]Item, 0, len(errs))
	for _, err := range errs {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			items = append(items, valueError([]any{"body"}, nil, err.Error()))
			continue
		}
		items = append(items, translate(d))
	}
	return validationEnvelope(items)
}

// huma message templates (huma/validation/messages.go) and the pydantic item
// each becomes. Order matters: the first match wins.
var rules = []struct {
	re    *regexp.Regexp
	build func(m []string, loc []any, in any) Item
}{
	{re(`^expected required property (.+) to be present$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "missing", Loc: append(loc, m[1]), Msg: "Field required", Input: in}
	}},
	{re(`^required (query|path|header|cookie) parameter is missing$`), func(_ []string, loc []any, in any) Item {
		return Item{Type: "missing", Loc: loc, Msg: "Field required", Input: in}
	}},
	{re(`^expected length >= (\d+)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "string_too_short", Loc: loc, Input: in, Msg: "String should have at least " + plural(m[1], "character"), Ctx: intCtx("min_length", m[1])}
	}},
	{re(`^expected length <= (\d+)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "string_too_long", Loc: loc, Input: in, Msg: "String should have at most " + plural(m[1], "character"), Ctx: intCtx("max_length", m[1])}
	}},
	{re(`^expected array length >= (\d+)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "too_short", Loc: loc, Input: in, Msg: "List should have at least " + plural(m[1], "item"), Ctx: intCtx("min_length", m[1])}
	}},
	{re(`^expected array length <= (\d+)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "too_long", Loc: loc, Input: in, Msg: "List should have at most " + plural(m[1], "item"), Ctx: intCtx("max_length", m[1])}
	}},
	{re(`^expected number >= (.+)$`), bound("greater_than_equal", "greater than or equal to", "ge")},
	{re(`^expected number > (.+)$`), bound("greater_than", "greater than", "gt")},
	{re(`^expected number <= (.+)$`), bound("less_than_equal", "less than or equal to", "le")},
	{re(`^expected number < (.+)$`), bound("less_than", "less than", "lt")},
	{re(`^(expected integer|invalid integer)`), fixed("int_parsing", "Input should be a valid integer, unable to parse string as an integer")},
	{re(`^(expected number|invalid float)`), fixed("float_parsing", "Input should be a valid number, unable to parse string as a number")},
	{re(`^(expected boolean|invalid boolean)`), fixed("bool_parsing", "Input should be a valid boolean, unable to interpret input")},
	{re(`^expected string$`), fixed("string_type", "Input should be a valid string")},
	{re(`^expected object$`), fixed("dict_type", "Input should be a valid dictionary")},
	{re(`^expected array$`), fixed("list_type", "Input should be a valid list")},
	{re(`^unexpected property$`), func(_ []string, loc []any, in any) Item {
		// huma reports the enclosing object; pydantic's input is the extra value.
		if obj, ok := in.(map[string]any); ok {
			if k, ok := loc[len(loc)-1].(string); ok {
				in = obj[k]
			}
		}
		return Item{Type: "extra_forbidden", Loc: loc, Msg: "Extra inputs are not permitted", Input: in}
	}},
	{re(`^expected string to be RFC 4122 uuid: (.*)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "uuid_parsing", Loc: loc, Input: in, Msg: "Input should be a valid UUID, " + m[1], Ctx: map[string]any{"error": m[1]}}
	}},
	{re(`^expected string to be RFC 5322 email: (.*)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "value_error", Loc: loc, Input: in, Msg: "value is not a valid email address: " + m[1], Ctx: map[string]any{"reason": m[1]}}
	}},
	{re(`^expected string to be RFC 3339 date-time`), fixed("datetime_parsing", "Input should be a valid datetime")},
	{re(`^expected string to be RFC 3986 uri`), fixed("url_parsing", "Input should be a valid URL")},
	{re(`^expected value to be one of "(.*)"$`), func(m []string, loc []any, in any) Item {
		opts := strings.Split(m[1], ", ")
		return Item{Type: "literal_error", Loc: loc, Input: in, Msg: "Input should be " + orList(opts), Ctx: map[string]any{"expected": orList(opts)}}
	}},
	{re(`^expected string to match pattern (.*)$`), func(m []string, loc []any, in any) Item {
		return Item{Type: "string_pattern_mismatch", Loc: loc, Input: in, Msg: "String should match pattern '" + m[1] + "'", Ctx: map[string]any{"pattern": m[1]}}
	}},
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// translate maps one huma detail; a body that is not JSON becomes
// json_invalid, and any message huma's templates do not cover (a custom
// validator's) becomes pydantic's value_error.
func translate(d *huma.ErrorDetail) Item {
	loc := location(d.Location)
	if len(loc) == 1 && loc[0] == "body" {
		// The parser's own messages can start with "unexpected" too ("unexpected end of JSON input").
		if raw, ok := d.Value.(string); ok && !strings.HasPrefix(d.Message, "expected") && d.Message != humavalidation.MsgUnexpectedProperty {
			return jsonInvalid(d.Message, raw)
		}
	}
	for _, r := range rules {
		if m := r.re.FindStringSubmatch(d.Message); m != nil {
			return r.build(m, loc, d.Value)
		}
	}
	return valueError(loc, d.Value, d.Message)
}

// jsonInvalid is the §1.4 json_invalid item; loc carries the byte offset of
// the syntax error when the decoder reports one.
func jsonInvalid(msg, raw string) Item {
	if strings.Contains(msg, huma.ErrUnknownContentType.Error()) {
		return Item{Type: "model_attributes_type", Loc: []any{"body"}, Input: raw,
			Msg: "Input should be a valid dictionary or object to extract fields from"}
	}
	pos := len(raw) // "unexpected end of JSON input"
	var syn *json.SyntaxError
	if err := json.Unmarshal([]byte(raw), new(any)); errors.As(err, &syn) {
		pos = int(syn.Offset)
		if pos > 0 && !strings.HasPrefix(syn.Error(), "unexpected end") {
			pos-- // Go counts the offending byte as read; Python's pos points at it
		}
	}
	pos = utf8.RuneCountInString(raw[:min(pos, len(raw))]) // Python counts characters, not bytes
	return Item{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error", Input: map[string]any{}, Ctx: map[string]any{"error": msg}}
}

func valueError(loc []any, in any, msg string) Item {
	return Item{Type: "value_error", Loc: loc, Input: in, Msg: "Value error, " + msg, Ctx: map[string]any{"error": msg}}
}

// location splits huma's "body.items[0].name" into ["body","items",0,"name"].
func location(s string) []any {
	if s == "" {
		return []any{"body"}
	}
	var loc []any
	for _, part := range strings.Split(s, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			loc = append(loc, name)
		}
		for rest != "" {
			idx, tail, _ := strings.Cut(rest, "]")
			if n, err := strconv.Atoi(idx); err == nil {
				loc = append(loc, n)
			} else {
				loc = append(loc, idx)
			}
			_, rest, _ = strings.Cut(tail, "[")
		}
	}
	return loc
}

func fixed(typ, msg string) func([]string, []any, any) Item {
	return func(_ []string, loc []any, in any) Item { return Item{Type: typ, Loc: loc, Msg: msg, Input: in} }
}

func bound(typ, words, key string) func([]string, []any, any) Item {
	return func(m []string, loc []any, in any) Item {
		var v any = m[1]
		if n, err := strconv.ParseFloat(m[1], 64); err == nil {
			v = n
		}
		return Item{Type: typ, Loc: loc, Input: in, Msg: "Input should be " + words + " " + m[1], Ctx: map[string]any{key: v}}
	}
}

func intCtx(key, n string) map[string]any {
	v, _ := strconv.Atoi(n)
	return map[string]any{key: v}
}

func plural(n, noun string) string {
	if n == "1" {
		return n + " " + noun
	}
	return n + " " + noun + "s"
}

// orList renders pydantic's "'a', 'b' or 'c'".
func orList(opts []string) string {
	q := make([]string, len(opts))
	for i, o := range opts {
		q[i] = "'" + o + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
