package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Background WAL checkpoints for SQLite.
//
// By default SQLite copies the WAL back into the database file (a
// checkpoint) inside the commit that takes the WAL past 1,000 pages: that
// commit's callers wait for the copy and its two fsyncs, and so does every
// transaction queued behind it, since the writer is held meanwhile (measured
// under concurrent refreshes: a tenth of the writer's time, 10–20 ms each).
// Here a goroutine checkpoints instead, while writes go on, and takes the
// writer only to copy the tail written during its copy (a few ms, mostly its
// fsyncs), so that the next transaction can start the WAL over from its
// beginning; otherwise, under steady writes, the WAL would never be wholly
// copied and would grow without end.
const (
	// ckptPause is how long the checkpointer lets commits pile up after
	// the first one it hears of: a page many of them wrote is copied once.
	ckptPause = 100 * time.Millisecond
	// ckptRestartFrames is the WAL size (pages) from which the checkpointer
	// takes the writer to finish the copy, so that the WAL starts over.
	// Below it the WAL starts over by itself once writes pause.
	ckptRestartFrames = 4000
	// ckptBackstopFrames is SQLite's own automatic checkpoint, kept for a
	// WAL that outgrows the checkpointer (and for processes that write
	// without one): far above what the checkpointer lets the WAL reach.
	ckptBackstopFrames = 10000
)

// checkpointer runs the background checkpoints of one SQLite store.
type checkpointer struct {
	db            *sql.DB
	writer        chan struct{} // the group commit's writer slot
	kick          chan struct{} // a commit happened
	stop          chan struct{}
	stopOnce      sync.Once
	done          chan struct{}
	pause         time.Duration
	restartFrames int

	copied func() // test hook: runs between the copy and its tail
}

func newCheckpointer(db *sql.DB, writer chan struct{}) *checkpointer {
	c := &checkpointer{db: db, writer: writer, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		pause: ckptPause, restartFrames: ckptRestartFrames}
	go c.run()
	return c
}

// committed tells the checkpointer that the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// close stops the checkpointer and waits for a checkpoint in progress.
func (c *checkpointer) close() {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

func (c *checkpointer) run() {
	defer close(c.done)
	pause := time.NewTimer(c.pause)
	pause.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		pause.Reset(c.pause)
		select {
		case <-c.stop:
			pause.Stop()
			return
		case <-pause.C:
		}
		c.checkpoint()
	}
}

// checkpoint copies the WAL while writes go on and, when the WAL is large,
// copies what was written meanwhile while holding the writer.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	frames, _, err := c.passive(ctx)
	if err != nil || frames < c.restartFrames {
		return
	}
	if c.copied != nil {
		c.copied()
	}
	select {
	case c.writer <- struct{}{}:
	case <-c.stop:
		return
	}
	defer func() { <-c.writer }()
	_, _, _ = c.passive(ctx)
}

// passive runs a PASSIVE checkpoint (it never waits for readers or the
// writer) and returns the WAL's size in pages and how many of them are now
// in the database file. The checkpointer drops an error: the next
// checkpoint, or SQLite's own backstop, copies the pages instead.
func (c *checkpointer) passive(ctx context.Context) (frames, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, copied, err
}
