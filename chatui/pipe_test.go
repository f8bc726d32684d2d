package chatui

import (
	"bytes"
	"errors"
	"testing"

	"agentplane/server/chat"
)

func TestPipe(t *testing.T) {
	t.Parallel()
	reply := chat.Reply{Response: "All done.", ConversationID: "c1", AgentUsed: "code_assistant", HandoffOccurred: true,
		Metadata: map[string]any{}}
	failed := append(append([]chat.Frame(nil), script[:2]...), chat.Frame{ConversationID: "c1", IsComplete: true, Error: "Error processing chat request: boom"})
	tests := []struct {
		name              string
		b                 *fakeBackend
		o                 PipeOptions
		stdout, info, err string
	}{
		{name: "text", b: &fakeBackend{frames: script}, o: PipeOptions{},
			stdout: "Let me hand this over.\n",
			info:   "[INFO] [chat] conversation c1 · agent code_assistant (handoff from triage)\n"},
		{name: "json", b: &fakeBackend{frames: script}, o: PipeOptions{JSON: true},
			stdout: string(script[0].Wire()) + "\n" + string(script[1].Wire()) + "\n" + string(script[2].Wire()) + "\n" + string(script[3].Wire()) + "\n",
			info:   "[INFO] [chat] conversation c1 · agent code_assistant (handoff from triage)\n"},
		{name: "blocking", b: &fakeBackend{reply: reply}, o: PipeOptions{NoStream: true, Turn: chat.Turn{AgentType: "triage"}},
			stdout: "All done.\n",
			info:   "[INFO] [chat] conversation c1 · agent code_assistant (handoff from triage)\n"},
		{name: "blocking json", b: &fakeBackend{reply: reply}, o: PipeOptions{NoStream: true, JSON: true},
			stdout: `{"response":"All done.","conversation_id":"c1","agent_used":"code_assistant","handoff_occurred":true,"metadata":{}}` + "\n"},
		{name: "error frame", b: &fakeBackend{frames: failed}, o: PipeOptions{},
			stdout: "Let me hand this \n", err: "Error processing chat request: boom"},
		{name: "error frame json", b: &fakeBackend{frames: failed}, o: PipeOptions{JSON: true},
			stdout: string(failed[0].Wire()) + "\n" + string(failed[1].Wire()) + "\n" + string(failed[2].Wire()) + "\n",
			err:    "Error processing chat request: boom"},
		{name: "turn fails", b: &fakeBackend{err: errors.New("no tenant")}, o: PipeOptions{}, err: "no tenant"},
		{name: "empty message", b: &fakeBackend{}, o: PipeOptions{Turn: chat.Turn{Message: " \n"}},
			err: "no message: pass --message or pipe the text on stdin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.o.Turn.Message == "" {
				tc.o.Turn.Message = "question"
			}
			var out, info bytes.Buffer
			err := Pipe(t.Context(), tc.b, tc.o, &out, &info)
			if got := errText(err); got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tc.stdout)
			}
			if info.String() != tc.info {
				t.Errorf("info %q, want %q", info.String(), tc.info)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
