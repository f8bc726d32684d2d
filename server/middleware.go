package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"agentplane/server/request"
)

// slot is the per-request record the access log reads after the handler:
// the matched route and the cause of a 5xx, written by inner layers (which
// see a copied *http.Request, so r.Pattern cannot travel outwards).
type slot struct {
	route string
	cause error
	rules []Rule // the server's error rules, for huma's error hook
}

type slotKey struct{}

func slotFrom(ctx context.Context) *slot {
	s, _ := ctx.Value(slotKey{}).(*slot)
	return s
}

// recordWriter notes the status and sets X-Process-Time when the header is
// written (for SSE that is when the stream starts; spec http-api.md §1.9).
type recordWriter struct {
	http.ResponseWriter
	start  time.Time
	status int
	body   *bodyDeadline // nil when the request has no body
}

// SetReadDeadline is how huma bounds reading a body (through
// http.ResponseController). Once the body has been read (the JSON check
// before authorization reads it first) there is nothing left to bound, and
// a deadline left on the connection would cancel the request's context when
// net/http's background read hits it — it cut every chat stream and model
// call longer than huma's 5 s. So it is applied only while the body is
// unread, and lifted when it has been.
func (w *recordWriter) SetReadDeadline(t time.Time) error {
	if w.body == nil || w.body.done {
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).SetReadDeadline(t)
}

func (w *recordWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		// canonical key written directly: Header().Set would canonicalise it per request
		w.Header()["X-Process-Time"] = []string{strconv.FormatFloat(time.Since(w.start).Seconds(), 'f', 4, 64)}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets SSE handlers flush through the wrapper.
func (w *recordWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the real writer.
func (w *recordWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// exchange is the per-request state observe allocates, in one piece.
type exchange struct {
	rw   recordWriter
	slot slot
	info request.Info
	body bodyDeadline
}

// bodyReadTimeout bounds reading a request body, from the first handler on.
const bodyReadTimeout = 10 * time.Second

// bodyDeadline bounds reading the request body with a read deadline and
// lifts it at the body's end (see recordWriter.SetReadDeadline).
type bodyDeadline struct {
	io.ReadCloser
	w    http.ResponseWriter
	done bool
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.lift()
	}
	return n, err
}

func (b *bodyDeadline) Close() error {
	b.lift()
	return b.ReadCloser.Close()
}

func (b *bodyDeadline) lift() {
	if !b.done {
		b.done = true
		_ = http.NewResponseController(b.w).SetReadDeadline(time.Time{}) // unsupported writers have none to lift
	}
}

// observe is the outermost layer: correlation id, client IP, one access log
// line per request and the HTTP metrics (spec cli-config-ops.md §8.3).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := request.CorrelationIDFrom(r.Header)
		w.Header()["X-Correlation-Id"] = []string{id} // = Set("X-Correlation-ID"), without canonicalising
		// one allocation for all per-request state
		ex := &exchange{
			rw:   recordWriter{ResponseWriter: w, start: start},
			slot: slot{rules: s.rules},
			info: request.Info{CorrelationID: id, ClientIP: s.proxies.ClientIP(r, false)},
		}
		sl, rw := &ex.slot, &ex.rw
		ctx := context.WithValue(r.Context(), slotKey{}, sl)
		ctx = request.WithInfo(ctx, &ex.info)
		r = r.WithContext(ctx)
		if r.Body != nil && r.Body != http.NoBody {
			ex.body = bodyDeadline{ReadCloser: r.Body, w: w}
			r.Body, rw.body = &ex.body, &ex.body
			_ = http.NewResponseController(w).SetReadDeadline(start.Add(bodyReadTimeout))
		}
		next.ServeHTTP(rw, r)

		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		level, attrs := slog.LevelInfo, []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path), // never the query: tokens could leak (cli-config-ops.md §11 note 7)
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		if sl.cause != nil {
			attrs = append(attrs, slog.String("error", sl.cause.Error()))
		}
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(ctx, level, "request", attrs...)
		route := sl.route
		if route == "" {
			route = "unmatched"
		}
		s.metrics.ObserveHTTP(methodLabel(r.Method), route, status, elapsed)
	})
}

// methodLabel keeps the metric's method label to the methods routes use, so
// a client inventing methods cannot grow the series without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recoverPanics turns a panic into the 500 envelope (http-api.md §4 note 28),
// logging the stack once; X-Correlation-ID is already set by observe.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			if sl := slotFrom(r.Context()); sl != nil {
				sl.cause = fmt.Errorf("panic: %v", v)
			}
			s.log.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			writeEnvelope(w, NewEnvelope(http.StatusInternalServerError, "Internal Server Error", nil))
		}()
		next.ServeHTTP(w, r)
	})
}

// writeEnvelope writes e as JSON with its headers.
func writeEnvelope(w http.ResponseWriter, e *Envelope) {
	for k, vs := range e.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e) // the client may be gone; nothing else to do
}

// cors implements the reference's CORS policy (http-api.md §1.8): exact
// origin match or "*", credentials allowed, the origin echoed, preflights
// answered here.
func (s *Server) cors(next http.Handler) http.Handler {
	o := s.opts
	anyOrigin := slices.Contains(o.AllowedOrigins, "*")
	anyHeader := slices.Contains(o.AllowedHeaders, "*")
	methods := strings.Join(o.AllowedMethods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := anyOrigin || slices.Contains(o.AllowedOrigins, origin)
		h := w.Header()
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			var bad []string
			if !allowed {
				bad = append(bad, "origin")
			}
			if !slices.Contains(o.AllowedMethods, r.Header.Get("Access-Control-Request-Method")) {
				bad = append(bad, "method")
			}
			reqHeaders := r.Header.Get("Access-Control-Request-Headers")
			if !anyHeader && !headersAllowed(reqHeaders, o.AllowedHeaders) {
				bad = append(bad, "headers")
			}
			h.Set("Vary", "Origin")
			if len(bad) > 0 {
				h.Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, "Disallowed CORS "+strings.Join(bad, ", "))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			if reqHeaders != "" {
				h.Set("Access-Control-Allow-Headers", reqHeaders)
			}
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Max-Age", "600")
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "OK")
			return
		}
		h.Set("Access-Control-Allow-Credentials", "true")
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		next.ServeHTTP(w, r)
	})
}

func headersAllowed(requested string, allowed []string) bool {
	for _, h := range strings.Split(requested, ",") {
		h = strings.TrimSpace(h)
		if h != "" && !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, h) }) {
			return false
		}
	}
	return true
}

// trustedHosts refuses requests whose Host is not allowed (http-api.md §1.8).
func (s *Server) trustedHosts(next http.Handler) http.Handler {
	hosts := s.opts.AllowedHosts
	if slices.Contains(hosts, "*") {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOnly(r.Host)
		if hostAllowed(host, hosts) {
			next.ServeHTTP(w, r)
			return
		}
		// Only a literal www.<host> entry redirects, as Starlette's
		// TrustedHostMiddleware (a wildcard entry does not).
		if slices.ContainsFunc(hosts, func(a string) bool { return strings.EqualFold(a, "www."+host) }) {
			u := *r.URL
			u.Scheme, u.Host = scheme(r), "www."+r.Host
			http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "Invalid host header")
	})
}

// hostOnly strips the port, handling bracketed IPv6 literals.
func hostOnly(hostport string) string {
	if i := strings.IndexByte(hostport, ':'); i < 0 {
		return hostport
	} else if !strings.Contains(hostport[i+1:], ":") {
		return hostport[:i] // host:port, the common case, without SplitHostPort's allocation
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func hostAllowed(host string, allowed []string) bool {
	host = strings.ToLower(host)
	for _, a := range allowed {
		a = strings.ToLower(a)
		if a == host || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	return false
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// route dispatches to the mux, answering what it has no route for the way
// the reference does: 307 without a trailing slash, 404 {"detail":"Not
// Found"} and 405 {"detail":"Method Not Allowed"} with Allow (http-api.md
// §1.1). Those bodies also carry the envelope keys, so a client reading
// either form understands them.
func (s *Server) route(mux *http.ServeMux) http.Handler {
	// The catch-all "/" gets every request no route matches, so the mux
	// resolves each request once.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { unmatched(mux, w, r) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			// net/http lets GET routes answer HEAD; the reference answers 405.
			unmatched(mux, w, r)
			return
		}
		mux.ServeHTTP(w, r)
		if sl := slotFrom(r.Context()); sl != nil && r.Pattern != "/" {
			sl.route = r.Pattern
		}
	})
}

// unmatched answers a request no operation takes.
func unmatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		trimmed := r.Clone(r.Context())
		trimmed.URL.Path = strings.TrimRight(p, "/")
		trimmed.URL.RawPath = ""
		if _, pattern := mux.Handler(trimmed); pattern != "/" {
			u := *trimmed.URL
			u.Scheme, u.Host = scheme(r), r.Host
			http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
			return
		}
	}
	if allow := allowedMethods(mux, r); allow != "" {
		w.Header().Set("Allow", allow)
		writeFrameworkError(w, http.StatusMethodNotAllowed)
		return
	}
	writeFrameworkError(w, http.StatusNotFound)
}

// allowedMethods lists the methods routed for r's path; HEAD only where a
// route declares it (net/http's own Allow adds HEAD to every GET route).
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// writeFrameworkError writes the reference framework's 404/405 body (plus
// the envelope keys).
func writeFrameworkError(w http.ResponseWriter, code int) {
	detail := http.StatusText(code)
	body, _ := json.Marshal(map[string]any{
		"detail": detail, "success": false, "error": detail, "message": detail, "details": nil,
	})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
