package clob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

type wireCredentials struct {
	APIKey     text `json:"apiKey"`
	Secret     text `json:"secret"`
	Passphrase text `json:"passphrase"`
}

// CreateAPIKey asks the CLOB for new API credentials of the signer for nonce (POST
// /auth/api-key, L1 headers). It does not install them: call SetCredentials.
func (c *Client) CreateAPIKey(ctx context.Context, nonce int64) (Credentials, error) {
	return c.apiKey(ctx, call{method: http.MethodPost, path: "/auth/api-key", auth: authL1, nonce: nonce})
}

// DeriveAPIKey asks the CLOB for the signer's existing API credentials for nonce (GET
// /auth/derive-api-key, L1 headers). It does not install them: call SetCredentials.
func (c *Client) DeriveAPIKey(ctx context.Context, nonce int64) (Credentials, error) {
	return c.apiKey(ctx, call{method: http.MethodGet, path: "/auth/derive-api-key", auth: authL1, nonce: nonce})
}

// CreateOrDeriveAPIKey derives the credentials for nonce and creates them when the CLOB has none
// (a refusal other than a transient or auth failure), as the official clients do.
func (c *Client) CreateOrDeriveAPIKey(ctx context.Context, nonce int64) (Credentials, error) {
	creds, err := c.DeriveAPIKey(ctx, nonce)
	if err == nil {
		return creds, nil
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind == KindRetryable || ae.Kind == KindAuth || ae.Kind == KindGeoblocked {
		return Credentials{}, err
	}
	return c.CreateAPIKey(ctx, nonce)
}

func (c *Client) apiKey(ctx context.Context, cl call) (Credentials, error) {
	if cl.nonce < 0 {
		return Credentials{}, fmt.Errorf("clob %s %s: nonce %d must not be negative", cl.method, cl.path, cl.nonce)
	}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return Credentials{}, err
	}
	var w wireCredentials
	if err := decode(cl, raw, &w); err != nil {
		return Credentials{}, err
	}
	creds := Credentials{APIKey: string(w.APIKey), Secret: string(w.Secret), Passphrase: string(w.Passphrase)}
	if err := creds.Validate(); err != nil {
		return Credentials{}, fmt.Errorf("%w: %s %s: %w", ErrMalformedResponse, cl.method, cl.path, err)
	}
	return creds, nil
}
