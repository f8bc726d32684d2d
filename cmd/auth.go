package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"agentplane/config"
	"agentplane/server/auth"
	"agentplane/vault"
)

// Defaults and wire constants of the service-account token commands
// (spec: cli-config-ops.md §3.1, auth-and-keys.md §13.5).
const (
	defaultAuthBaseURL = "http://127.0.0.1:8000"
	authHTTPTimeout    = 10 * time.Second
	envelopeTTL        = 300 // seconds between iat and exp
	maxAuthResponse    = 1 << 20
	tokensPath         = "/api/v1/auth/service-accounts/tokens"
)

func newAuthCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "auth",
		Short: "Service-account tokens: issue, list and revoke through the API",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	tokens := &cobra.Command{
		Use:   "tokens",
		Short: "Issue, list and revoke service-account refresh tokens",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	tokens.AddCommand(newIssueServiceAccountCmd(g), newTokensListCmd(g), newTokensRevokeCmd(g))
	c.AddCommand(tokens)
	return c
}

// issueOptions are the flags of `auth tokens issue-service-account`.
type issueOptions struct {
	account, scopes, tenant, fingerprint string
	lifetime                             int
	force                                bool
	output, baseURL                      string
}

// issueRequest is the body of POST /api/v1/auth/service-accounts/issue; nulls are sent.
type issueRequest struct {
	Account         string   `json:"account"`
	Scopes          []string `json:"scopes"`
	TenantID        *string  `json:"tenant_id"`
	LifetimeMinutes *int     `json:"lifetime_minutes"`
	Fingerprint     *string  `json:"fingerprint"`
	Force           bool     `json:"force"`
}

// vaultEnvelope is the payload the CLI has Vault Transit sign, in the reference's key order.
type vaultEnvelope struct {
	Iss             string   `json:"iss"`
	Aud             []string `json:"aud"`
	Sub             string   `json:"sub"`
	Account         string   `json:"account"`
	TenantID        *string  `json:"tenant_id"`
	Scopes          []string `json:"scopes"`
	Nonce           string   `json:"nonce"`
	Iat             int64    `json:"iat"`
	Exp             int64    `json:"exp"`
	Fingerprint     *string  `json:"fingerprint,omitempty"`
	LifetimeMinutes *int     `json:"lifetime_minutes,omitempty"`
}

func newIssueServiceAccountCmd(g *globals) *cobra.Command {
	var o issueOptions
	c := &cobra.Command{
		Use:   "issue-service-account",
		Short: "Mint a service-account refresh token through the API (Vault-signed, or dev-local)",
		Long: `Mint a service-account refresh token by calling
POST /api/v1/auth/service-accounts/issue.

With VAULT_ADDR and VAULT_TOKEN set, the request is authorised by an envelope
signed with Vault Transit (VAULT_TRANSIT_KEY). With AUTH_CLI_DEV_AUTH_MODE=local,
without Vault settings, or when the settings cannot be loaded, it sends
"Bearer dev-local", which only a development server accepts.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			lookup, err := g.cliLookup()
			if err != nil {
				return err
			}
			output, err := outputFormat(c, o.output, lookup, "AUTH_CLI_OUTPUT", "json", "json", "text", "env")
			if err != nil {
				return err
			}
			req := issueRequest{Account: o.account, Scopes: splitScopes(o.scopes), Force: o.force}
			if len(req.Scopes) == 0 {
				return errors.New("At least one scope must be provided via --scopes.")
			}
			if o.tenant != "" {
				req.TenantID = &o.tenant
			}
			if o.fingerprint != "" {
				req.Fingerprint = &o.fingerprint
			}
			if c.Flags().Changed("lifetime") {
				req.LifetimeMinutes = &o.lifetime
			}
			headers, err := issueCredential(c, g, lookup, req)
			if err != nil {
				return err
			}
			raw, err := authAPI(c.Context(), http.MethodPost, baseURL(c, o.baseURL, lookup)+"/api/v1/auth/service-accounts/issue",
				headers, req, "Issuance")
			if err != nil {
				return err
			}
			success(c.ErrOrStderr(), "auth", "Service-account token issued.")
			return printIssued(c.OutOrStdout(), output, raw)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.account, "account", "a", "", "service-account slug, e.g. analytics-batch (required)")
	f.StringVarP(&o.scopes, "scopes", "s", "", "comma-separated scopes (required)")
	f.StringVarP(&o.tenant, "tenant", "t", "", "tenant UUID (tenant-scoped accounts)")
	f.IntVar(&o.lifetime, "lifetime", 0, "refresh-token lifetime in minutes (default: the account's)")
	f.StringVar(&o.fingerprint, "fingerprint", "", "machine or pipeline identifier, for auditing")
	f.BoolVar(&o.force, "force", false, "mint a new token even if an active one exists")
	f.StringVarP(&o.output, "output", "o", "", "json, text or env (default $AUTH_CLI_OUTPUT, else json)")
	f.StringVar(&o.baseURL, "base-url", "", "API base URL (default $AUTH_CLI_BASE_URL, else "+defaultAuthBaseURL+")")
	_ = c.MarkFlagRequired("account")
	_ = c.MarkFlagRequired("scopes")
	return c
}

// issueCredential picks the Authorization header (and X-Vault-Payload): dev-local when
// AUTH_CLI_DEV_AUTH_MODE=local, when the settings cannot be loaded or when Vault is not
// configured; otherwise a Vault Transit signed envelope (spec: cli-config-ops.md §3.1, §11
// note 2).
func issueCredential(c *cobra.Command, g *globals, lookup func(string) (string, bool), req issueRequest) (map[string]string, error) {
	devLocal := map[string]string{"Authorization": "Bearer dev-local"}
	if mode, _ := lookup("AUTH_CLI_DEV_AUTH_MODE"); strings.EqualFold(strings.TrimSpace(mode), "local") {
		return devLocal, nil
	}
	s, err := g.load(c, loadOptions{})
	if err != nil || s.VaultAddr == "" || s.VaultToken.IsZero() {
		return devLocal, nil
	}
	transit, err := vault.NewTransit(vault.TransitConfig{Addr: s.VaultAddr, Token: s.VaultToken.Reveal(), Key: s.VaultTransitKey})
	if err != nil {
		return nil, err
	}
	payload, err := envelope(req, time.Now())
	if err != nil {
		return nil, err
	}
	sig, err := transit.Sign(c.Context(), payload) // sends the standard base64 of payload
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"Authorization":   "Bearer vault:" + strings.TrimPrefix(sig, "vault:v1:"),
		"X-Vault-Payload": base64.RawURLEncoding.EncodeToString(payload),
	}, nil
}

// envelope is the compact JSON the server checks against the request body.
func envelope(req issueRequest, now time.Time) ([]byte, error) {
	env := vaultEnvelope{
		Iss: "vault-transit", Aud: []string{"auth-service"}, Sub: "service-account-cli",
		Account: req.Account, TenantID: req.TenantID, Scopes: req.Scopes,
		Nonce: strings.ReplaceAll(uuid.NewString(), "-", ""),
		Iat:   now.Unix(), Exp: now.Unix() + envelopeTTL,
		Fingerprint: req.Fingerprint, LifetimeMinutes: req.LifetimeMinutes,
	}
	return marshalCompact(env)
}

// printIssued writes the issuance response as json (pretty, in the server's key order),
// env (AUTH_REFRESH_TOKEN=…) or text.
func printIssued(w io.Writer, output string, raw []byte) error {
	if output == "json" {
		return printRawJSON(w, raw)
	}
	var t auth.ServiceToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return fmt.Errorf("Issuance response is not a token: %w", err)
	}
	if output == "env" {
		_, err := fmt.Fprintf(w, "AUTH_REFRESH_TOKEN=%s\n", t.RefreshToken)
		return err
	}
	tenant := "global"
	if t.TenantID != nil && *t.TenantID != "" {
		tenant = *t.TenantID
	}
	_, err := fmt.Fprintf(w, "Account: %s\nScopes: %s\nIssued At: %s\nExpires At: %s\nTenant ID: %s\nToken Use: %s\nKey ID: %s\n\nRefresh Token:\n%s\n",
		t.Account, strings.Join(t.Scopes, ", "), t.IssuedAt, t.ExpiresAt, tenant, t.TokenUse, t.KID, t.RefreshToken)
	return err
}

// bearerOptions are the flags list and revoke share.
type bearerOptions struct {
	token, baseURL, operatorReason, output string
}

func (o *bearerOptions) bind(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.token, "token", "", "bearer access token (default $AUTH_CLI_TOKEN)")
	f.StringVar(&o.baseURL, "base-url", "", "API base URL (default $AUTH_CLI_BASE_URL, else "+defaultAuthBaseURL+")")
	f.StringVar(&o.operatorReason, "operator-reason", "", "act as platform operator (X-Operator-Override) with this audit reason")
	f.StringVarP(&o.output, "output", "o", "json", "json or text")
}

// headers are the Authorization and operator-override headers of a list or revoke call.
// prepare checks --output and reads the environment chain and the request
// headers every token-admin command needs.
func (o *bearerOptions) prepare(g *globals) (lookup func(string) (string, bool), headers map[string]string, err error) {
	if err := oneOf("--output", o.output, "json", "text"); err != nil {
		return nil, nil, err
	}
	if lookup, err = g.cliLookup(); err != nil {
		return nil, nil, err
	}
	headers, err = o.headers(lookup)
	return lookup, headers, err
}

func (o *bearerOptions) headers(lookup func(string) (string, bool)) (map[string]string, error) {
	token := strings.TrimSpace(o.token)
	if token == "" {
		v, _ := lookup("AUTH_CLI_TOKEN")
		token = strings.TrimSpace(v)
	}
	if token == "" {
		return nil, errors.New("no access token: set AUTH_CLI_TOKEN or pass --token")
	}
	h := map[string]string{"Authorization": "Bearer " + token}
	if o.operatorReason != "" {
		h["X-Operator-Override"] = "true"
		h["X-Operator-Reason"] = o.operatorReason
	}
	return h, nil
}

// listOptions are the filters of `auth tokens list` (spec: http-api.md §2.3.17).
type listOptions struct {
	bearerOptions
	account, fingerprint, status, tenant string
	includeGlobal                        bool
	limit, offset                        int
}

// tokenList is the listing response the text output prints.
type tokenList struct {
	Items []struct {
		JTI         string   `json:"jti"`
		Account     string   `json:"account"`
		TenantID    *string  `json:"tenant_id"`
		Scopes      []string `json:"scopes"`
		IssuedAt    string   `json:"issued_at"`
		ExpiresAt   string   `json:"expires_at"`
		RevokedAt   *string  `json:"revoked_at"`
		Fingerprint *string  `json:"fingerprint"`
	} `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func newTokensListCmd(g *globals) *cobra.Command {
	var o listOptions
	c := &cobra.Command{
		Use:   "list",
		Short: "List service-account refresh tokens (GET /api/v1/auth/service-accounts/tokens)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.status != "" { // flags are judged before the environment is read
				if err := oneOf("--status", o.status, "active", "revoked", "all"); err != nil {
					return err
				}
			}
			lookup, headers, err := o.prepare(g)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"account": o.account, "fingerprint": o.fingerprint, "status": o.status, "tenant_id": o.tenant} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if o.includeGlobal {
				q.Set("include_global", "true")
			}
			if c.Flags().Changed("limit") {
				q.Set("limit", strconv.Itoa(o.limit))
			}
			if c.Flags().Changed("offset") {
				q.Set("offset", strconv.Itoa(o.offset))
			}
			u := baseURL(c, o.baseURL, lookup) + tokensPath
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			raw, err := authAPI(c.Context(), http.MethodGet, u, headers, nil, "Listing")
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printRawJSON(c.OutOrStdout(), raw)
			}
			return printTokenList(c.OutOrStdout(), raw)
		},
	}
	o.bind(c)
	f := c.Flags()
	f.StringVar(&o.account, "account", "", "account name contains this (case-insensitive)")
	f.StringVar(&o.fingerprint, "fingerprint", "", "exact fingerprint")
	f.StringVar(&o.status, "status", "", "active, revoked or all (server default: active)")
	f.StringVar(&o.tenant, "tenant", "", "tenant UUID")
	f.BoolVar(&o.includeGlobal, "include-global", false, "also list tenantless tokens (operators)")
	f.IntVar(&o.limit, "limit", 20, "page size, 1-100")
	f.IntVar(&o.offset, "offset", 0, "items to skip")
	return c
}

// printTokenList writes one row per token and a paging line.
func printTokenList(w io.Writer, raw []byte) error {
	var l tokenList
	if err := json.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("Listing response is not a token list: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JTI\tACCOUNT\tTENANT\tSCOPES\tISSUED AT\tEXPIRES AT\tREVOKED AT\tFINGERPRINT")
	for _, it := range l.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.JTI, it.Account, orDash(it.TenantID, "global"),
			strings.Join(it.Scopes, ","), it.IssuedAt, it.ExpiresAt, orDash(it.RevokedAt, "-"), orDash(it.Fingerprint, "-"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d (offset %d, limit %d)\n", len(l.Items), l.Total, l.Offset, l.Limit)
	return err
}

func orDash(s *string, empty string) string {
	if s == nil || *s == "" {
		return empty
	}
	return *s
}

// revokeOptions are the flags of `auth tokens revoke`.
type revokeOptions struct {
	bearerOptions
	reason string
}

func newTokensRevokeCmd(g *globals) *cobra.Command {
	var o revokeOptions
	c := &cobra.Command{
		Use:   "revoke <jti>",
		Short: "Revoke a service-account refresh token by jti",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			lookup, headers, err := o.prepare(g)
			if err != nil {
				return err
			}
			body := map[string]string{} // always a JSON object, {} without --reason
			if o.reason != "" {
				body["reason"] = o.reason
			}
			u := baseURL(c, o.baseURL, lookup) + tokensPath + "/" + url.PathEscape(args[0]) + "/revoke"
			raw, err := authAPI(c.Context(), http.MethodPost, u, headers, body, "Revocation")
			if err != nil {
				return err
			}
			success(c.ErrOrStderr(), "auth", "Service-account token revoked.")
			if o.output == "json" {
				return printRawJSON(c.OutOrStdout(), raw)
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "Revoked: %s\n", args[0])
			return err
		},
	}
	o.bind(c)
	c.Flags().StringVar(&o.reason, "reason", "", "audit reason, at most 256 characters (required for operators unless --operator-reason)")
	return c
}

// cliLookup reads the CLI's own variables (AUTH_CLI_*) through the same chain as the
// settings: the process environment, then the env files.
func (g *globals) cliLookup() (func(string) (string, bool), error) {
	src := config.Sources{Dir: g.env.dir, EnvFiles: g.envFiles, SkipEnv: g.skipEnv, Environ: g.env.lookup}
	lookup, _, err := src.Lookup()
	if err != nil {
		return nil, fmt.Errorf("%w\nFix the file or pass --env-file with a readable one", err)
	}
	return lookup, nil
}

// outputFormat is --output when given, else the env variable lower-cased, else def; it must
// be one of allowed.
func outputFormat(c *cobra.Command, flag string, lookup func(string) (string, bool), envVar, def string, allowed ...string) (string, error) {
	out := flag
	if !c.Flags().Changed("output") {
		out = def
		if v, _ := lookup(envVar); strings.TrimSpace(v) != "" {
			out = v
		}
	}
	out = strings.ToLower(strings.TrimSpace(out))
	return out, oneOf("--output", out, allowed...)
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("invalid %s %q: want %s", name, v, strings.Join(allowed, ", "))
}

// baseURL is --base-url, else AUTH_CLI_BASE_URL, else the local default, without a trailing slash.
func baseURL(c *cobra.Command, flag string, lookup func(string) (string, bool)) string {
	u := flag
	if !c.Flags().Changed("base-url") {
		u = defaultAuthBaseURL
		if v, _ := lookup("AUTH_CLI_BASE_URL"); strings.TrimSpace(v) != "" {
			u = strings.TrimSpace(v)
		}
	}
	return strings.TrimRight(u, "/")
}

// splitScopes splits a comma-separated list, trimming and dropping empties.
func splitScopes(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// authAPI sends one JSON request (body nil: none) with a 10 s timeout and returns the
// response body of a status below 400. Other statuses are `<action> failed (<status>):
// <detail>`.
func authAPI(ctx context.Context, method, u string, headers map[string]string, body any, action string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := marshalCompact(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s failed: %w", action, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: authHTTPTimeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s failed: %w", action, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthResponse))
	if err != nil {
		return nil, fmt.Errorf("%s failed: read response: %w", action, err)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("%s failed (%d): %s", action, resp.StatusCode, failureDetail(raw))
	}
	return raw, nil
}

// failureDetail is the body's detail, else error, else message, else the raw text.
func failureDetail(raw []byte) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) == nil {
		for _, k := range []string{"detail", "error", "message"} {
			v, ok := doc[k]
			if !ok || string(v) == "null" {
				continue
			}
			var s string
			if json.Unmarshal(v, &s) == nil {
				if s != "" {
					return s
				}
				continue
			}
			return string(v) // e.g. a list of validation items
		}
	}
	return strings.TrimSpace(string(raw))
}

// marshalCompact is JSON without spaces or a trailing newline, HTML characters unescaped.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// printRawJSON pretty-prints a JSON document with a 2-space indent, keeping its key order.
func printRawJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("response is not JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
