package config

import (
	"net/url"
	"strings"
)

// RedactURL returns raw with its password replaced by "***" (and a password query parameter
// likewise), for logging DATABASE_URL, REDIS_URL and the like (spec: cli-config-ops.md §11 note 6).
// Everything else is kept as written; a string that is not a URL is returned unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw
	}
	out := raw
	if _, hasPassword := u.User.Password(); hasPassword {
		// Rewrite only the userinfo's password, keeping the rest byte for byte.
		schemeEnd := strings.Index(out, "://") + len("://")
		authority := out[schemeEnd:]
		if i := strings.IndexAny(authority, "/?#"); i >= 0 {
			authority = authority[:i]
		}
		at := strings.LastIndex(authority, "@")
		if colon := strings.Index(authority[:at], ":"); colon >= 0 {
			out = out[:schemeEnd+colon+1] + "***" + out[schemeEnd+at:]
		}
	}
	if q := u.Query(); q.Has("password") {
		before, query, _ := strings.Cut(out, "?")
		query, fragment, hasFragment := strings.Cut(query, "#")
		parts := strings.Split(query, "&")
		for i, part := range parts {
			if key, _, _ := strings.Cut(part, "="); key == "password" {
				parts[i] = "password=***"
			}
		}
		out = before + "?" + strings.Join(parts, "&")
		if hasFragment {
			out += "#" + fragment
		}
	}
	return out
}
