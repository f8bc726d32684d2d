// Package store is agentplane's one storage layer: database/sql over pgx
// (PostgreSQL) or modernc.org/sqlite, one embedded migration set per dialect,
// the repositories, and the Redis side (go-redis, with an in-process
// miniredis when no REDIS_URL is set). Only this package speaks SQL, imports
// the database drivers or imports go-redis (spec: agents-and-data.md §8).
package store
