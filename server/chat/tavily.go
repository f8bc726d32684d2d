package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Tavily is the web search client of tavily_search_tool (spec:
// agents-and-data.md §4.3), reached through its base URL (DESIGN decision 2).
type Tavily struct {
	BaseURL string // TAVILY_BASE_URL
	Key     string // TAVILY_API_KEY; "" answers "not configured"
	Client  *http.Client
}

// SearchQuery is the tool's arguments.
type SearchQuery struct {
	Query         string `json:"query"`
	MaxResults    int    `json:"max_results"`
	SearchDepth   string `json:"search_depth"`
	IncludeAnswer bool   `json:"include_answer"`
	Topic         string `json:"topic"`
}

// Search runs q and formats the answer; it never fails: errors become the
// tool's text (§4.3 step 4).
func (t *Tavily) Search(ctx context.Context, q SearchQuery) string {
	if strings.TrimSpace(t.Key) == "" {
		return "Web search is not available. Tavily API key is not configured."
	}
	q.MaxResults = min(max(q.MaxResults, 1), 20)
	body, err := json.Marshal(map[string]any{
		"query": q.Query, "max_results": q.MaxResults, "search_depth": q.SearchDepth,
		"include_answer": q.IncludeAnswer, "topic": q.Topic, "include_raw_content": false, "include_images": false,
	})
	if err != nil {
		return "Web search failed: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.BaseURL, "/")+"/search",
		bytes.NewReader(body))
	if err != nil {
		return "Web search failed: invalid TAVILY_BASE_URL."
	}
	req.Header.Set("Authorization", "Bearer "+t.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.Client.Do(req)
	if err != nil {
		return "Web search failed: the request to Tavily did not complete."
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "Web search failed: the answer from Tavily could not be read."
	}
	if resp.StatusCode >= 300 {
		return fmt.Sprintf("Web search failed: Tavily answered HTTP %d.", resp.StatusCode)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "Web search failed: Tavily returned invalid JSON."
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "Web search failed: Tavily returned an unexpected payload."
	}
	return formatTavily(q.Query, obj)
}

// formatTavily is the exact result text of §4.3 step 5.
func formatTavily(query string, obj map[string]any) string {
	var b strings.Builder
	b.WriteString("🔍 Web Search Results for: '" + query + "'\n" + strings.Repeat("=", 50) + "\n\n")
	if answer, _ := obj["answer"].(string); answer != "" {
		b.WriteString("📝 AI Summary:\n" + answer + "\n\n📚 Sources:\n" + strings.Repeat("-", 20) + "\n")
	}
	results, _ := obj["results"].([]any)
	if len(results) == 0 {
		b.WriteString("No search results found.\n")
		return b.String()
	}
	for i, r := range results {
		m, _ := r.(map[string]any)
		title := strOr(m["title"], "No title")
		url := strOr(m["url"], "No URL")
		content := strOr(m["content"], "No content available")
		if utf8.RuneCountInString(content) > 200 {
			content = string([]rune(content)[:200]) + "..."
		}
		score, _ := m["score"].(float64)
		fmt.Fprintf(&b, "%d. %s\n   URL: %s\n   Relevance: %.2f\n   Content: %s\n\n", i+1, title, url, score, content)
	}
	elapsed := "Unknown"
	switch rt := obj["response_time"].(type) {
	case float64:
		elapsed = fmt.Sprint(rt)
	case string:
		elapsed = rt
	}
	b.WriteString("⏱️ Search completed in " + elapsed + " seconds\n")
	return b.String()
}

func strOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}
