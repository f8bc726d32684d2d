package config

import "testing"

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://app:hunter2@db:5432/app?sslmode=require": "postgres://app:***@db:5432/app?sslmode=require",
		"postgresql+asyncpg://app:p%40ss@db/app":             "postgresql+asyncpg://app:***@db/app",
		"postgres://app:p@ss@db/app":                         "postgres://app:***@db/app",
		"redis://:tok@redis:6379/0":                          "redis://:***@redis:6379/0",
		"rediss://default:tok@[::1]:6380":                    "rediss://default:***@[::1]:6380",
		"postgres://app@db/app":                              "postgres://app@db/app",
		"postgres://db/app?user=app&password=hunter2#frag":   "postgres://db/app?user=app&password=***#frag",
		"sqlite:///var/agentplane.db":                        "sqlite:///var/agentplane.db",
		"file:var/x.db":                                      "file:var/x.db",
		"host=db user=app password=hunter2":                  "host=db user=app password=hunter2",
		"":                                                   "",
		"not a url %zz":                                      "not a url %zz",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
