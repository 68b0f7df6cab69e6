package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/patientaccess/gateway/apps"
)

// maxResponse bounds how much of an admin API answer the client reads.
const maxResponse = 16 << 20

// Client calls the admin API; the `gateway apps` command is built on it.
type Client struct {
	BaseURL string       // the gateway's base URL, e.g. http://127.0.0.1:8080
	Token   string       // the admin bearer token
	HTTP    *http.Client // nil means http.DefaultClient
}

// Error is an error answer from the admin API.
type Error struct {
	Status      int    // the HTTP status
	Code        string // the "error" field
	Description string // the "error_description" field
}

// Error returns the server's description, or its code when it gave none.
func (e *Error) Error() string {
	if e.Description != "" {
		return e.Description
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// Register registers an app; the answer holds the client secret of a
// confidential app, which the server never shows again.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (RegisterResponse, error) {
	var out RegisterResponse
	err := c.do(ctx, http.MethodPost, "/admin/apps", req, &out)
	return out, err
}

// Decide applies a decision to an app; action is "approve", "deny",
// "suspend" or "reinstate". Denial and suspension cite criteria and
// evidence; an approval of an app failing an automated criterion needs an
// override reason.
func (c *Client) Decide(ctx context.Context, clientID, action string, req DecideRequest) (AppView, error) {
	var out AppView
	path := "/admin/apps/" + url.PathEscape(clientID) + "/" + url.PathEscape(action)
	err := c.do(ctx, http.MethodPost, path, req, &out)
	return out, err
}

// List returns the registered apps the query selects (status, attestation,
// q, failed; nil for all), oldest registration first.
func (c *Client) List(ctx context.Context, query url.Values) ([]AppView, error) {
	var out struct {
		Apps []AppView `json:"apps"`
	}
	path := "/admin/apps"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Apps, err
}

// Get returns one app with its checks, history and usage.
func (c *Client) Get(ctx context.Context, clientID string) (AppDetail, error) {
	var out AppDetail
	err := c.do(ctx, http.MethodGet, "/admin/apps/"+url.PathEscape(clientID), nil, &out)
	return out, err
}

// RunChecks checks an app against every criterion now and returns the
// results.
func (c *Client) RunChecks(ctx context.Context, clientID string) (apps.Checks, error) {
	var out apps.Checks
	err := c.do(ctx, http.MethodPost, "/admin/apps/"+url.PathEscape(clientID)+"/checks", struct{}{}, &out)
	return out, err
}

// Criteria returns the criteria catalog and the attestation questions.
func (c *Client) Criteria(ctx context.Context) (CriteriaView, error) {
	var out CriteriaView
	err := c.do(ctx, http.MethodGet, "/admin/criteria", nil, &out)
	return out, err
}

// Report returns every decision made under a criteria version ("" for the
// current one, "all" for every version).
func (c *Client) Report(ctx context.Context, version string) (ReportView, error) {
	var out ReportView
	path := "/admin/report"
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// do sends one request with a JSON body (none when in is nil) and decodes
// the JSON answer into out, or returns an *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode admin request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("admin request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("admin API: read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		apiErr := &Error{Status: resp.StatusCode}
		var e ErrorResponse
		if json.Unmarshal(data, &e) == nil {
			apiErr.Code, apiErr.Description = e.Error, e.Description
		}
		return apiErr
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API: answer is not the expected JSON: %w", err)
	}
	return nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// IsStatus reports whether err is an *Error with that HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
