package clob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// What the CLOB lets an account do, beyond one order's rules: closed-only mode (the account may
// close positions, not open them) and the geographic block (the caller's region may place no
// order at all).

// ClosedOnly reads GET /auth/ban-status/closed-only (L2): whether the API key's account is in
// closed-only mode, where the CLOB refuses its BUYs with "'<address>' address in closed only
// mode" and takes its SELLs (py-clob-client get_closed_only_mode; docs.polymarket.com
// resources/error-codes, POST /order).
func (c *Client) ClosedOnly(ctx context.Context) (bool, error) {
	cl := call{method: http.MethodGet, path: "/auth/ban-status/closed-only", auth: authL2}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return false, err
	}
	var v struct {
		ClosedOnly *flag `json:"closed_only"`
	}
	if err := decode(cl, raw, &v); err != nil {
		return false, err
	}
	if v.ClosedOnly == nil {
		return false, fmt.Errorf("%w: GET /auth/ban-status/closed-only: no closed_only field", ErrMalformedResponse)
	}
	return bool(*v.ClosedOnly), nil
}

// IsClosedOnlyRefusal reports whether err is the CLOB refusing an order because the account is
// in closed-only mode: "'{address}' address in closed only mode" (docs.polymarket.com
// resources/error-codes, POST /order).
func IsClosedOnlyRefusal(err error) bool {
	if KindOf(err) == KindRetryable {
		return false
	}
	var ae *APIError
	return errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Message), "closed only mode")
}

// Geoblock is the answer of the geoblock endpoint for the caller's IP address.
type Geoblock struct {
	Blocked bool   `json:"blocked"`
	IP      string `json:"ip"`
	Country string `json:"country"` // ISO 3166-1 alpha-2
	Region  string `json:"region"`
}

// Where names the country and region, "US/NY", or "unknown region".
func (g Geoblock) Where() string {
	switch {
	case g.Country != "" && g.Region != "":
		return g.Country + "/" + g.Region
	case g.Country != "":
		return g.Country
	}
	return "unknown region"
}

// CheckGeoblock reads the geoblock endpoint at url: GET, answering {"blocked": bool, "ip",
// "country", "region"} (docs.polymarket.com/api-reference/geoblock). "Orders submitted from
// blocked regions will be rejected": the CLOB answers them 403 "Trading restricted in your
// region". hc nil takes http.DefaultClient; ctx bounds the call.
func CheckGeoblock(ctx context.Context, hc *http.Client, url string) (Geoblock, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Geoblock{}, fmt.Errorf("geoblock check %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Geoblock{}, fmt.Errorf("geoblock check: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return Geoblock{}, fmt.Errorf("geoblock check: read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Geoblock{}, fmt.Errorf("geoblock check %s: HTTP %d", url, resp.StatusCode)
	}
	var w struct {
		Blocked *flag  `json:"blocked"`
		IP      string `json:"ip"`
		Country string `json:"country"`
		Region  string `json:"region"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.Blocked == nil {
		return Geoblock{}, fmt.Errorf("%w: geoblock check %s: no blocked field", ErrMalformedResponse, url)
	}
	return Geoblock{Blocked: bool(*w.Blocked), IP: w.IP, Country: w.Country, Region: w.Region}, nil
}
