package chatui

import (
	"bufio"
	"io"
	"iter"
	"strconv"
	"strings"
)

// sseEvent is one dispatched server-sent event: its data lines joined and
// its id (0 when the stream sends none).
type sseEvent struct {
	id   int
	data string
}

// readSSE yields the events of an event stream (WHATWG HTML §9.2.6, the
// subset our server writes: id, data and comment lines). alive is called for
// every line, pings included. A read error, io.EOF included, is yielded once.
func readSSE(r io.Reader, alive func()) iter.Seq2[sseEvent, error] {
	return func(yield func(sseEvent, error) bool) {
		br := bufio.NewReader(r)
		var ev sseEvent
		var data []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				yield(sseEvent{}, err)
				return
			}
			alive()
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				if data != nil {
					ev.data = strings.Join(data, "\n")
					if !yield(ev, nil) {
						return
					}
				}
				ev.data, data = "", nil
				continue
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "data":
				data = append(data, value)
			case "id":
				if n, err := strconv.Atoi(value); err == nil {
					ev.id = n
				}
			}
		}
	}
}
