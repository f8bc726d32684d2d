package ops

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type rootOutput struct {
	Body struct {
		Service     string `json:"service"`
		Version     string `json:"version"`
		Description string `json:"description"`
		Docs        string `json:"docs"`
		Health      string `json:"health"`
		API         string `json:"api"`
		Chat        string `json:"chat"`
		Agents      string `json:"agents"`
	}
}

type healthOutput struct{ Body Health }

type rawOutput struct {
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	LastModified string `header:"Last-Modified"`
	CacheControl string `header:"Cache-Control"`
	Status       int
	Body         []byte
}

type metricsInput struct {
	Authorization string `header:"Authorization" doc:"Bearer METRICS_TOKEN, when set"`
}

type jwksInput struct {
	IfNoneMatch string `header:"If-None-Match"`
}

// Register adds the ops operations (spec: http-api.md §2.1).
func Register(api huma.API, svc *Service) {
	h := handlers{svc}
	huma.Register(api, huma.Operation{
		OperationID: "get-root", Method: http.MethodGet, Path: "/", Tags: []string{"Ops"},
		Summary: "Service information",
	}, h.root)
	huma.Register(api, huma.Operation{
		OperationID: "get-health", Method: http.MethodGet, Path: "/health", Tags: []string{"Ops"},
		Summary: "Liveness",
	}, h.health)
	huma.Register(api, huma.Operation{
		OperationID: "get-health-ready", Method: http.MethodGet, Path: "/health/ready", Tags: []string{"Ops"},
		Summary: "Readiness: pings the database and Redis", Errors: []int{http.StatusServiceUnavailable},
	}, h.ready)
	huma.Register(api, huma.Operation{
		OperationID: "get-metrics", Method: http.MethodGet, Path: "/metrics", Hidden: true,
	}, h.metrics)
	huma.Register(api, huma.Operation{
		OperationID: "get-jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json", Hidden: true,
	}, h.jwks)
}

type handlers struct{ svc *Service }

func (h handlers) root(context.Context, *struct{}) (*rootOutput, error) {
	out := &rootOutput{}
	i := h.svc.d.Info
	out.Body.Service, out.Body.Version, out.Body.Description = i.Service, i.Version, i.Description
	out.Body.Docs, out.Body.Health, out.Body.API = "/docs", "/health", "/api/v1"
	out.Body.Chat, out.Body.Agents = "/api/v1/chat", "/api/v1/agents"
	return out, nil
}

func (h handlers) health(context.Context, *struct{}) (*healthOutput, error) {
	return &healthOutput{Body: h.svc.health("healthy")}, nil
}

func (h handlers) ready(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	body, err := h.svc.Ready(ctx)
	if err != nil {
		return nil, err
	}
	return &healthOutput{Body: body}, nil
}

func (h handlers) metrics(_ context.Context, in *metricsInput) (*rawOutput, error) {
	if err := h.svc.authorizeMetrics(in.Authorization); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	contentType, err := h.svc.d.Metrics.Write(&buf)
	if err != nil {
		return nil, err
	}
	return &rawOutput{ContentType: contentType, Status: http.StatusOK, Body: buf.Bytes()}, nil
}

func (h handlers) jwks(ctx context.Context, in *jwksInput) (*rawOutput, error) {
	j, err := h.svc.jwks(ctx, in.IfNoneMatch)
	if err != nil {
		return nil, err
	}
	out := &rawOutput{ETag: j.etag, LastModified: j.lastModified, CacheControl: j.cacheControl, Status: http.StatusOK}
	if j.notModified {
		out.Status = http.StatusNotModified
		return out, nil
	}
	out.ContentType, out.Body = "application/json", j.body
	return out, nil
}
