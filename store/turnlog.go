package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TurnLogKeep is how long a resumable turn's frames stay after its last
// frame (DESIGN decision 14).
const TurnLogKeep = 10 * time.Minute

// TurnLog keeps the frames of resumable chat turns in Redis, so any replica
// can replay them to a client that reconnects (DESIGN decision 14). Each
// conversation has one log, its latest turn: a Redis stream whose entry
// ids are 0-<frame id>, ended by a marker entry.
type TurnLog struct {
	r      *Redis
	prefix string
}

// NewTurnLog returns the turn log; keyPrefix is "" in production (tests
// pass storetest's per-test prefix).
func NewTurnLog(r *Redis, keyPrefix string) *TurnLog {
	return &TurnLog{r: r, prefix: keyPrefix}
}

// LoggedFrame is one frame of a turn: its id and its JSON.
type LoggedFrame struct {
	ID   int
	Data []byte
}

// errTurnLog wraps every Redis failure of the turn log.
var errTurnLog = errors.New("store: chat turn log")

func (l *TurnLog) key(tenantID, conversation string) string {
	return l.prefix + "chat:turn:" + tenantID + ":" + conversation
}

// Begin starts a new turn for the conversation, dropping the previous
// turn's frames.
func (l *TurnLog) Begin(ctx context.Context, tenantID, conversation string) error {
	return l.Drop(ctx, tenantID, conversation)
}

// Drop deletes the conversation's frames (the conversation was deleted).
func (l *TurnLog) Drop(ctx context.Context, tenantID, conversation string) error {
	if err := l.r.Del(ctx, l.key(tenantID, conversation)).Err(); err != nil {
		return fmt.Errorf("%w: drop: %w", errTurnLog, err)
	}
	return nil
}

// Append stores frame id (1, 2, … within the turn) and keeps the log for
// TurnLogKeep after it.
func (l *TurnLog) Append(ctx context.Context, tenantID, conversation string, id int, data []byte) error {
	return l.add(ctx, tenantID, conversation, id, "data", data)
}

// End marks the turn finished after frame lastID; readers stop there.
func (l *TurnLog) End(ctx context.Context, tenantID, conversation string, lastID int) error {
	return l.add(ctx, tenantID, conversation, lastID+1, "end", []byte("1"))
}

func (l *TurnLog) add(ctx context.Context, tenantID, conversation string, id int, field string, value []byte) error {
	key := l.key(tenantID, conversation)
	_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: "0-" + strconv.Itoa(id), Values: []any{field, value}})
		p.PExpire(ctx, key, TurnLogKeep)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: append frame %d: %w", errTurnLog, id, err)
	}
	return nil
}

// Read returns the frames after id after, in order, and whether the turn
// has ended. A conversation with no log (none was resumable, or it expired)
// is ErrNotFound.
func (l *TurnLog) Read(ctx context.Context, tenantID, conversation string, after int) ([]LoggedFrame, bool, error) {
	key := l.key(tenantID, conversation)
	msgs, err := l.r.XRange(ctx, key, "(0-"+strconv.Itoa(after), "+").Result()
	if err != nil {
		return nil, false, fmt.Errorf("%w: read: %w", errTurnLog, err)
	}
	if len(msgs) == 0 { // nothing new: is there a log, and has it ended (an id past the end)?
		last, err := l.r.XRevRangeN(ctx, key, "+", "-", 1).Result()
		if err != nil {
			return nil, false, fmt.Errorf("%w: read: %w", errTurnLog, err)
		}
		if len(last) == 0 {
			return nil, false, ErrNotFound
		}
		_, ended := last[0].Values["end"]
		return nil, ended, nil
	}
	frames := make([]LoggedFrame, 0, len(msgs))
	for _, m := range msgs {
		if _, ok := m.Values["end"]; ok {
			return frames, true, nil
		}
		_, seq, _ := strings.Cut(m.ID, "-")
		id, err := strconv.Atoi(seq)
		data, ok := m.Values["data"].(string)
		if err != nil || !ok {
			return nil, false, fmt.Errorf("%w: entry %s of %s is not a frame", errTurnLog, m.ID, key)
		}
		frames = append(frames, LoggedFrame{ID: id, Data: []byte(data)})
	}
	return frames, false, nil
}
