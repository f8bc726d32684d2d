package chatui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"agentplane/server/chat"
)

// PipeOptions are one non-interactive turn (spec: cli-config-ops.md §9).
type PipeOptions struct {
	Turn     chat.Turn
	NoStream bool // the blocking path
	JSON     bool // print the SSE JSON objects (or, with NoStream, the reply object), one per line
}

// Pipe runs one turn without a terminal: the reply text goes to out as it
// arrives, ending with a newline, or with JSON the frames one per line.
// Where the reply came from (conversation, agent, handoff) goes to info so
// out holds only the reply. A failed turn is an error.
func Pipe(ctx context.Context, b Backend, o PipeOptions, out, info io.Writer) error {
	if strings.TrimSpace(o.Turn.Message) == "" {
		return errors.New("no message: pass --message or pipe the text on stdin")
	}
	requested := agentOrDefault(o.Turn.AgentType)
	if o.NoStream {
		r, err := b.Chat(ctx, o.Turn)
		if err != nil {
			return err
		}
		if o.JSON {
			line, err := json.Marshal(r)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%s\n", line)
			return err
		}
		if _, err := fmt.Fprintln(out, r.Response); err != nil {
			return err
		}
		pipeSummary(info, r.ConversationID, requested, r.AgentUsed)
		return nil
	}
	var convID, agent string
	text := false
	for f, err := range b.Stream(ctx, o.Turn) {
		if err != nil {
			if text {
				fmt.Fprintln(out)
			}
			return err
		}
		if f.ConversationID != "" {
			convID = f.ConversationID
		}
		if f.AgentUsed != "" {
			agent = f.AgentUsed
		}
		if o.JSON {
			if _, err := fmt.Fprintf(out, "%s\n", f.Wire()); err != nil {
				return err
			}
		} else if f.Chunk != "" {
			text = true
			if _, err := io.WriteString(out, f.Chunk); err != nil {
				return err
			}
		}
		if f.Error != "" {
			if text {
				fmt.Fprintln(out)
			}
			return errors.New(f.Error)
		}
		if f.IsComplete {
			break
		}
	}
	if !o.JSON {
		if _, err := fmt.Fprintln(out); err != nil {
			return err
		}
	}
	pipeSummary(info, convID, requested, agent)
	return nil
}

// pipeSummary tells where the reply came from, on the info stream.
func pipeSummary(w io.Writer, convID, requested, agent string) {
	line := "[INFO] [chat] conversation " + convID
	if agent != "" {
		line += " · agent " + agent
		if agent != requested {
			line += " (handoff from " + requested + ")"
		}
	}
	fmt.Fprintln(w, line)
}

// agentOrDefault is the agent a turn asks for: "" is triage (agents-and-data.md §2).
func agentOrDefault(a string) string {
	if a == "" {
		return "triage"
	}
	return a
}
