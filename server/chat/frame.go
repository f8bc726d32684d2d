package chat

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Frame is one event of a streamed turn (spec: http-api.md §2.4.2): a
// chunk of text, the completion, or the error that ends the stream.
type Frame struct {
	ID             int    `json:"-"` // resumable streams only: the SSE id, 1, 2, … per turn
	Chunk          string `json:"chunk"`
	ConversationID string `json:"conversation_id"`
	IsComplete     bool   `json:"is_complete"`
	// AgentUsed is the agent writing the chunk; on the completion frame the
	// agent that produced the final answer (DESIGN decision 6).
	AgentUsed string `json:"agent_used,omitempty"`
	Error     string `json:"error,omitempty"` // set on the error frame only
}

// Wire is the JSON the frame's `data:` line carries, byte for byte the
// reference's: chunk and completion frames are pydantic's compact dump
// (field order chunk, conversation_id, is_complete, agent_used; no HTML
// escaping); the error frame is Python's json.dumps with its ", " and ": "
// separators and ASCII escapes.
func (f Frame) Wire() []byte {
	if f.Error != "" {
		b := make([]byte, 0, 80+len(f.Error)+len(f.ConversationID))
		b = append(b, `{"error": `...)
		b = appendPyString(b, f.Error)
		b = append(b, `, "conversation_id": `...)
		b = appendPyString(b, f.ConversationID)
		return append(b, `, "is_complete": true, "chunk": ""}`...)
	}
	b := make([]byte, 0, 80+len(f.Chunk)+len(f.ConversationID)+len(f.AgentUsed))
	b = append(b, `{"chunk":`...)
	b = appendJSONString(b, f.Chunk)
	b = append(b, `,"conversation_id":`...)
	b = appendJSONString(b, f.ConversationID)
	b = append(b, `,"is_complete":`...)
	b = strconv.AppendBool(b, f.IsComplete)
	b = append(b, `,"agent_used":`...)
	if f.AgentUsed == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, f.AgentUsed)
	}
	return append(b, '}')
}

// ErrorFrame is the frame that ends a failed stream: the same safe text as
// the blocking endpoint's envelope (agents-and-data.md §9 note 7), for the
// effective conversation id (http-api.md §4 note 32).
func ErrorFrame(conversationID string, err error) Frame {
	if conversationID == "" {
		conversationID = "unknown"
	}
	return Frame{ConversationID: conversationID, IsComplete: true, Error: publicMessage(err)}
}

// publicMessage is the client-facing text of a chat failure; anything that
// is not a chat *Error gets a fixed summary, never its own text.
func publicMessage(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.PublicDetail()
	}
	return chatErrorPrefix + "an internal error occurred."
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way pydantic writes it:
// only quotes, backslashes and control characters are escaped; invalid
// UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendPyString appends s as Python's json.dumps does by default
// (ensure_ascii): every non-ASCII rune as \uXXXX, in surrogate pairs above
// the BMP.
func appendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			c := byte(r)
			if c >= 0x20 && c != '"' && c != '\\' {
				b = append(b, c)
			} else {
				b = appendEscape(b, c)
			}
		case r > 0xFFFF:
			r -= 0x10000
			b = appendU(b, 0xD800+(r>>10))
			b = appendU(b, 0xDC00+(r&0x3FF))
		default:
			b = appendU(b, r)
		}
	}
	return append(b, '"')
}

// appendEscape escapes one ASCII byte that may not appear raw in a string.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return appendU(b, rune(c))
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}
