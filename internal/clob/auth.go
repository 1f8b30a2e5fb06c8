// Package clob speaks the Polymarket CLOB REST API for polybot. This file holds the two levels of
// authentication: L1 (an EIP-712 ClobAuth signature by the wallet key, used to create or derive
// API credentials) and L2 (an HMAC of each request with the API secret).
package clob

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
)

// Header names of CLOB authentication.
const (
	HeaderAddress    = "POLY_ADDRESS"
	HeaderSignature  = "POLY_SIGNATURE"
	HeaderTimestamp  = "POLY_TIMESTAMP"
	HeaderNonce      = "POLY_NONCE"
	HeaderAPIKey     = "POLY_API_KEY"
	HeaderPassphrase = "POLY_PASSPHRASE"
)

// ClobAuth EIP-712 definitions.
const (
	ClobAuthDomainName = "ClobAuthDomain"
	ClobAuthType       = "ClobAuth(address address,string timestamp,uint256 nonce,string message)"
	ClobAuthMessage    = "This message attests that I control the given wallet"
)

var (
	clobAuthTypeHash    = crypto.Keccak256Hash([]byte(ClobAuthType))
	clobAuthMessageHash = crypto.Keccak256Hash([]byte(ClobAuthMessage))
)

// Errors of authentication, wrapped with details.
var (
	// ErrAuth: headers are missing or do not verify.
	ErrAuth = errors.New("clob auth failed")
	// ErrBadSecret: the API secret is not base64.
	ErrBadSecret = errors.New("bad API secret")
)

// ClobAuthDomain returns the L1 signing domain on chainID: no verifyingContract.
func ClobAuthDomain(chainID int64) order.Domain {
	return order.Domain{Name: ClobAuthDomainName, Version: "1", ChainID: chainID}
}

// clobAuthDigest returns the EIP-712 digest of ClobAuth{address, timestamp, nonce, message}.
func clobAuthDigest(chainID int64, address common.Address, timestamp string, nonce *big.Int) common.Hash {
	var buf [5 * 32]byte
	copy(buf[0:32], clobAuthTypeHash[:])
	copy(buf[32+12:64], address[:])
	ts := crypto.Keccak256Hash([]byte(timestamp))
	copy(buf[64:96], ts[:])
	nonce.FillBytes(buf[96:128])
	copy(buf[128:160], clobAuthMessageHash[:])
	return order.TypedDataHash(order.DomainSeparator(ClobAuthDomain(chainID)), crypto.Keccak256Hash(buf[:]))
}

// L1Headers returns the L1 headers that prove control of key's address: POLY_ADDRESS (EIP-55),
// POLY_SIGNATURE (ClobAuth signed under ClobAuthDomain), POLY_TIMESTAMP (unix seconds) and
// POLY_NONCE. They authenticate POST /auth/api-key and GET /auth/derive-api-key.
func L1Headers(key *ecdsa.PrivateKey, chainID int64, timestamp int64, nonce int64) (map[string]string, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no private key", ErrAuth)
	}
	if chainID <= 0 || timestamp < 0 || nonce < 0 {
		return nil, fmt.Errorf("%w: chain id %d, timestamp %d and nonce %d must not be negative (chain id positive)", ErrAuth, chainID, timestamp, nonce)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	ts := strconv.FormatInt(timestamp, 10)
	sig, err := order.SignDigest(key, clobAuthDigest(chainID, addr, ts, big.NewInt(nonce)))
	if err != nil {
		return nil, fmt.Errorf("sign clob auth: %w", err)
	}
	return map[string]string{
		HeaderAddress:   addr.Hex(),
		HeaderSignature: hexutil.Encode(sig),
		HeaderTimestamp: ts,
		HeaderNonce:     strconv.FormatInt(nonce, 10),
	}, nil
}

// VerifyL1 checks the L1 headers of a request, as the CLOB does, and returns the authenticated
// address and the nonce. It is for polybot's fake CLOB in tests.
func VerifyL1(h http.Header, chainID int64) (common.Address, int64, error) {
	addrHex, sigHex, ts, nonceStr := header(h, HeaderAddress), header(h, HeaderSignature), header(h, HeaderTimestamp), header(h, HeaderNonce)
	if !common.IsHexAddress(addrHex) || sigHex == "" || ts == "" {
		return common.Address{}, 0, fmt.Errorf("%w: missing or malformed L1 headers", ErrAuth)
	}
	if nonceStr == "" {
		nonceStr = "0"
	}
	nonce, err := strconv.ParseInt(nonceStr, 10, 64)
	if err != nil || nonce < 0 {
		return common.Address{}, 0, fmt.Errorf("%w: nonce %q", ErrAuth, nonceStr)
	}
	sig, err := hexutil.Decode(sigHex)
	if err != nil {
		return common.Address{}, 0, fmt.Errorf("%w: signature: %v", ErrAuth, err)
	}
	addr := common.HexToAddress(addrHex)
	got, err := order.RecoverSigner(clobAuthDigest(chainID, addr, ts, big.NewInt(nonce)), sig)
	if err != nil {
		return common.Address{}, 0, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	if got != addr {
		return common.Address{}, 0, fmt.Errorf("%w: signature is by %s, not %s", ErrAuth, got, addr)
	}
	return addr, nonce, nil
}

// Credentials are the L2 API credentials the CLOB issues to a wallet. Printing, formatting or
// JSON-encoding them never shows the secret or the passphrase.
type Credentials struct {
	APIKey     string
	Secret     string
	Passphrase string
}

const redacted = "[REDACTED]"

// String shows the API key and hides the rest.
func (c Credentials) String() string {
	return "Credentials{APIKey: " + strconv.Quote(c.APIKey) + ", Secret: " + redacted + ", Passphrase: " + redacted + "}"
}

// GoString is String, so %#v hides the secrets too.
func (c Credentials) GoString() string { return c.String() }

// Format writes String for every verb, so no verb (%d, %x, %+v…) reaches the fields.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// MarshalJSON encodes the API key and redacts the secret and the passphrase.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		APIKey     string `json:"apiKey"`
		Secret     string `json:"secret"`
		Passphrase string `json:"passphrase"`
	}{c.APIKey, redacted, redacted})
}

// Validate checks that all three fields are set and the secret decodes.
func (c Credentials) Validate() error {
	if c.APIKey == "" || c.Secret == "" || c.Passphrase == "" {
		return fmt.Errorf("%w: API key, secret and passphrase are all required", ErrAuth)
	}
	_, err := decodeSecret(c.Secret)
	return err
}

// decodeSecret decodes a base64 secret leniently: standard or URL alphabet, padded or not.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimRight(secret, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	key, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		// The error may quote the secret's bytes; keep it out of the message.
		return nil, fmt.Errorf("%w: not base64 (standard or URL alphabet)", ErrBadSecret)
	}
	return key, nil
}

// HMACSignature returns the L2 POLY_SIGNATURE: base64url(HMAC-SHA256(base64-decode(secret),
// timestamp + method + requestPath + body)), with '=' padding kept. requestPath is the path
// without query string, and body the exact bytes sent ("" for none).
func HMACSignature(secret string, timestamp string, method, requestPath, body string) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	for _, s := range [...]string{timestamp, method, requestPath, body} {
		_, _ = io.WriteString(mac, s)
	}
	return base64.URLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// L2Headers returns the L2 headers of a request by address (the signer EOA) at timestamp (unix
// seconds): POLY_ADDRESS, POLY_SIGNATURE, POLY_TIMESTAMP, POLY_API_KEY, POLY_PASSPHRASE. path must
// be the request path without query string; body the exact JSON sent.
func L2Headers(creds Credentials, address common.Address, timestamp int64, method, path, body string) (map[string]string, error) {
	if creds.APIKey == "" || creds.Passphrase == "" {
		return nil, fmt.Errorf("%w: API key and passphrase are required", ErrAuth)
	}
	if method == "" || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: method %q and path %q: need a method and a path starting with / and no query", ErrAuth, method, path)
	}
	ts := strconv.FormatInt(timestamp, 10)
	sig, err := HMACSignature(creds.Secret, ts, method, path, body)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		HeaderAddress:    address.Hex(),
		HeaderSignature:  sig,
		HeaderTimestamp:  ts,
		HeaderAPIKey:     creds.APIKey,
		HeaderPassphrase: creds.Passphrase,
	}, nil
}

// VerifyL2 checks the L2 headers of a request against creds, as the CLOB does, and returns the
// claimed address and the request's timestamp (for the caller's clock-skew check). method, path
// (without query) and body are those of the received request. It is for polybot's fake CLOB.
func VerifyL2(h http.Header, creds Credentials, method, path, body string) (common.Address, int64, error) {
	addrHex, sig, ts := header(h, HeaderAddress), header(h, HeaderSignature), header(h, HeaderTimestamp)
	if !common.IsHexAddress(addrHex) || sig == "" || ts == "" {
		return common.Address{}, 0, fmt.Errorf("%w: missing or malformed L2 headers", ErrAuth)
	}
	timestamp, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return common.Address{}, 0, fmt.Errorf("%w: timestamp %q", ErrAuth, ts)
	}
	if !equal(header(h, HeaderAPIKey), creds.APIKey) || !equal(header(h, HeaderPassphrase), creds.Passphrase) {
		return common.Address{}, 0, fmt.Errorf("%w: unknown API key or wrong passphrase", ErrAuth)
	}
	want, err := HMACSignature(creds.Secret, ts, method, path, body)
	if err != nil {
		return common.Address{}, 0, err
	}
	if !equal(sig, want) {
		return common.Address{}, 0, fmt.Errorf("%w: HMAC signature mismatch", ErrAuth)
	}
	return common.HexToAddress(addrHex), timestamp, nil
}

// SetHeaders copies auth headers into h under their exact names (POLY_ADDRESS, not the
// canonical Poly_address), as the official clients send them.
func SetHeaders(h http.Header, m map[string]string) {
	for k, v := range m {
		h[k] = []string{v}
	}
}

// header reads name from h whether it was stored canonicalised (as a server receives it) or
// verbatim (as SetHeaders stores it).
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
