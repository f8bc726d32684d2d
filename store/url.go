package store

import (
	"agentplane/config"
)

// Engine names a database engine.
type Engine string

// The two engines agentplane runs on.
const (
	Postgres Engine = config.EnginePostgres
	SQLite   Engine = config.EngineSQLite
)
