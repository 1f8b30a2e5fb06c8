package clob

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Defaults of Options.
const (
	DefaultBaseURL       = "https://clob.polymarket.com"
	DefaultChainID       = 137
	DefaultRateLimit     = rate.Limit(10) // requests per second
	DefaultBurst         = 20
	DefaultTimeout       = 10 * time.Second
	DefaultMaxRetries    = 3
	DefaultMetadataTTL   = 5 * time.Minute
	DefaultMaxMarkets    = 4096
	DefaultBackoffBase   = 200 * time.Millisecond
	DefaultBackoffMax    = 5 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second

	// MaxResponseBytes bounds every response body the client reads.
	MaxResponseBytes = 1 << 20
	// ClockSkewWarning is the clock skew above which ClockSkew logs a warning.
	ClockSkewWarning = 5 * time.Second
)

// Options configure a Client. Zero fields take the defaults above.
type Options struct {
	// BaseURL of the CLOB, without trailing slash. Default DefaultBaseURL.
	BaseURL string
	// ChainID signs L1 headers. Default 137 (Polygon).
	ChainID int64
	// Key is the signer EOA's key: it signs L1 headers and its address is POLY_ADDRESS. Public
	// calls work without it.
	Key *ecdsa.PrivateKey
	// Creds are the L2 API credentials; nil until derived (see SetCredentials).
	Creds *Credentials
	// HTTPClient sends the requests. Default: a client of its own, closed by Close.
	HTTPClient *http.Client
	// RateLimit is the client's own request rate (requests per second; rate.Inf for none) and
	// Burst its bucket size.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration
	// MaxRetries bounds the retries of a retryable failure. 0 takes the default (3); negative
	// disables retries.
	MaxRetries int
	// BackoffBase and BackoffMax shape the exponential backoff between retries
	// (base, 2·base, 4·base… capped at max). A Retry-After header overrides it; one longer than
	// MaxRetryAfter ends the retries.
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	MaxRetryAfter time.Duration
	// MetadataTTL is how long Market keeps a market's tick size, minimum size, neg-risk flag and
	// fee rate. Default 5 minutes.
	MetadataTTL time.Duration
	// MaxMarkets bounds the markets Market keeps; past it the least recently used is dropped
	// (fetched again when next needed). Default DefaultMaxMarkets: a daemon that follows busy
	// leaders for months meets many thousands of tokens.
	MaxMarkets int
	// Log receives warnings (retries, clock skew). Default: no logging.
	Log *zap.Logger
	// OnBook, if set, is told each book GET /book returns: its "market" field is the token's
	// condition id, which the resolution watcher needs once the market has closed and /book
	// answers 404 (resolution.Conditions).
	OnBook func(*Book)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, between retries. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client speaks the CLOB REST API: public market data, L1 key management and L2 trading calls,
// with its own rate limit, bounded retries and a market metadata cache. It is safe for
// concurrent use.
type Client struct {
	onBook        func(*Book)
	base          string
	chainID       int64
	key           *ecdsa.PrivateKey
	addr          common.Address
	creds         atomic.Pointer[Credentials]
	http          *http.Client
	ownsHTTP      bool
	limiter       *rate.Limiter
	timeout       time.Duration
	maxRetries    int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
	ttl           time.Duration
	log           *zap.Logger
	now           func() time.Time
	sleep         func(context.Context, time.Duration) error

	version atomic.Int64 // last protocol version read from GET /version; 0 unknown
	// pausedUntil (unix ns) holds back orders while the CLOB said it takes none (425, 503 with
	// retry_after_seconds): every order waits it out instead of meeting the same refusal.
	pausedUntil atomic.Int64

	markets *lru.Cache[string, marketEntry] // bounded: MaxMarkets, least recently used dropped
	group   singleflight.Group
}

// NewClient validates opts, fills the defaults and returns a client.
func NewClient(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("clob: base URL %q: want http(s)://host[/path] without query", opts.BaseURL)
	}
	if opts.ChainID == 0 {
		opts.ChainID = DefaultChainID
	}
	if opts.ChainID < 0 {
		return nil, fmt.Errorf("clob: chain id %d must be positive", opts.ChainID)
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateLimit < 0 {
		return nil, fmt.Errorf("clob: rate limit %v must be positive (rate.Inf for none)", opts.RateLimit)
	}
	if opts.Burst == 0 {
		opts.Burst = DefaultBurst
	}
	if opts.Burst < 0 {
		return nil, fmt.Errorf("clob: burst %d must be positive", opts.Burst)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"timeout", &opts.Timeout, DefaultTimeout}, {"backoff base", &opts.BackoffBase, DefaultBackoffBase},
		{"backoff max", &opts.BackoffMax, DefaultBackoffMax}, {"max retry-after", &opts.MaxRetryAfter, DefaultMaxRetryAfter},
		{"metadata TTL", &opts.MetadataTTL, DefaultMetadataTTL}} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return nil, fmt.Errorf("clob: %s %v must be positive", d.name, *d.v)
		}
	}
	if opts.BackoffMax < opts.BackoffBase {
		return nil, fmt.Errorf("clob: backoff max %v is below backoff base %v", opts.BackoffMax, opts.BackoffBase)
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	c := &Client{
		base:          strings.TrimRight(opts.BaseURL, "/"),
		chainID:       opts.ChainID,
		key:           opts.Key,
		http:          opts.HTTPClient,
		limiter:       rate.NewLimiter(opts.RateLimit, opts.Burst),
		timeout:       opts.Timeout,
		maxRetries:    opts.MaxRetries,
		backoffBase:   opts.BackoffBase,
		backoffMax:    opts.BackoffMax,
		maxRetryAfter: opts.MaxRetryAfter,
		ttl:           opts.MetadataTTL,
		log:           opts.Log,
		onBook:        opts.OnBook,
		now:           opts.Now,
		sleep:         opts.Sleep,
	}
	if opts.MaxMarkets < 0 {
		return nil, fmt.Errorf("clob: max markets %d must be positive", opts.MaxMarkets)
	}
	if opts.MaxMarkets == 0 {
		opts.MaxMarkets = DefaultMaxMarkets
	}
	if c.markets, err = lru.New[string, marketEntry](opts.MaxMarkets); err != nil {
		return nil, fmt.Errorf("clob: market cache: %w", err)
	}
	if c.key != nil {
		c.addr = crypto.PubkeyToAddress(c.key.PublicKey)
	}
	if opts.Creds != nil {
		if err := c.SetCredentials(*opts.Creds); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		c.http = &http.Client{
			Transport: t,
			// Never follow a redirect: a re-sent POST would carry a stale signature.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		c.ownsHTTP = true
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.log = c.log.Named("clob")
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

// Close releases the idle connections of the client's own HTTP client.
func (c *Client) Close() {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
}

// Address returns the signer EOA (zero without a key).
func (c *Client) Address() common.Address { return c.addr }

// SetCredentials validates creds and uses them for every later private call.
func (c *Client) SetCredentials(creds Credentials) error {
	if err := creds.Validate(); err != nil {
		return fmt.Errorf("clob: %w", err)
	}
	c.creds.Store(&creds)
	return nil
}

// Credentials returns the API credentials in use, if any.
func (c *Client) Credentials() (Credentials, bool) {
	p := c.creds.Load()
	if p == nil {
		return Credentials{}, false
	}
	return *p, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type authLevel uint8

const (
	authNone authLevel = iota
	authL1
	authL2
)

// call is one API request.
type call struct {
	method string
	path   string // without query
	query  url.Values
	body   []byte
	auth   authLevel
	nonce  int64 // L1 nonce
	// once marks a call with side effects (POST /order): after it may have reached the server,
	// a failure is an unknown outcome, never retried.
	once bool
}

// do sends c with retries and returns the body of its 2xx answer.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		if cl.once {
			if err := c.waitPause(ctx, cl); err != nil {
				return nil, err
			}
		}
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("clob %s %s: rate limit: %w", cl.method, cl.path, err)
		}
		raw, err := c.attempt(ctx, cl)
		if err == nil {
			return raw, nil
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			return nil, err
		}
		notTaken := ae.Status == http.StatusTooEarly || ae.Status == http.StatusServiceUnavailable
		if cl.once && notTaken {
			if ae.RetryAfter > 0 {
				// Every order waits the pause out (waitPause), this one included.
				c.pause(ae.RetryAfter)
			}
			if attempt >= c.maxRetries || ae.RetryAfter > c.maxRetryAfter || ctx.Err() != nil {
				// The CLOB refused to take the order: it was not placed, and is not a rejection.
				return nil, fmt.Errorf("%w (after %d attempts): %w", ErrNotPlaced, attempt+1, err)
			}
			if ae.RetryAfter > 0 {
				continue
			}
		}
		if cl.once && !ae.notSent && ae.Status != http.StatusTooManyRequests && !notTaken &&
			(ae.Kind == KindRetryable || ctx.Err() != nil) {
			// The request reached the server and its outcome is not known.
			return nil, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		if ae.Kind != KindRetryable {
			return nil, err
		}
		if attempt >= c.maxRetries {
			if c.maxRetries > 0 {
				return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
			}
			return nil, err
		}
		wait := c.backoff(attempt)
		if ae.RetryAfter > 0 {
			if ae.RetryAfter > c.maxRetryAfter {
				return nil, fmt.Errorf("retry-after %v exceeds %v: %w", ae.RetryAfter, c.maxRetryAfter, err)
			}
			wait = ae.RetryAfter
		}
		c.log.Warn("CLOB call failed; retrying", zap.String("method", cl.method), zap.String("path", cl.path),
			zap.Int("status", ae.Status), zap.Int("attempt", attempt+1), zap.Duration("wait", wait))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w: %w", err, ae)
		}
	}
}

// pause holds back the orders of the next d (the CLOB's retry_after_seconds).
func (c *Client) pause(d time.Duration) {
	until := c.now().Add(d).UnixNano()
	for {
		old := c.pausedUntil.Load()
		if old >= until || c.pausedUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// waitPause waits until the CLOB said it takes orders again. A pause longer than
// MaxRetryAfter is not waited for: the order is not sent (ErrNotPlaced).
func (c *Client) waitPause(ctx context.Context, cl call) error {
	left := time.Duration(c.pausedUntil.Load() - c.now().UnixNano())
	if left <= 0 {
		return nil
	}
	if left > c.maxRetryAfter {
		return fmt.Errorf("clob %s %s: %w: it asked to wait %v more, beyond %v", cl.method, cl.path, ErrNotPlaced, left.Round(time.Second), c.maxRetryAfter)
	}
	c.log.Warn("CLOB not taking orders; waiting as it asked", zap.String("path", cl.path), zap.Duration("wait", left))
	if err := c.sleep(ctx, left); err != nil {
		return fmt.Errorf("clob %s %s: waiting for the CLOB to take orders: %w", cl.method, cl.path, err)
	}
	return nil
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase
	for i := 0; i < attempt && d < c.backoffMax; i++ {
		d *= 2
	}
	return min(d, c.backoffMax)
}

// attempt sends cl once.
func (c *Client) attempt(parent context.Context, cl call) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				written.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, cl.method, u, bytes.NewReader(cl.body))
	if err != nil {
		return nil, fmt.Errorf("clob %s %s: %w", cl.method, cl.path, err)
	}
	if cl.body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "polybot")
	if err := c.authenticate(req, cl); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		ae := &APIError{Method: cl.method, Path: cl.path, Kind: KindRetryable, Err: err, notSent: !written.Load()}
		switch {
		case parent.Err() != nil:
			ae.Kind, ae.Message = KindUnknown, "request abandoned"
		case ctx.Err() != nil || isTimeout(err):
			ae.Message = fmt.Sprintf("no answer within %v", c.timeout)
			ae.Err = nil
		default:
			ae.Message = "request failed"
		}
		return nil, ae
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, &APIError{Status: resp.StatusCode, Method: cl.method, Path: cl.path, Kind: KindRetryable,
			Message: "reading the answer failed", Err: err}
	}
	if len(raw) > MaxResponseBytes {
		return nil, &APIError{Status: resp.StatusCode, Method: cl.method, Path: cl.path, Kind: KindUnknown,
			Message: fmt.Sprintf("answer larger than %d bytes", MaxResponseBytes)}
	}
	if resp.StatusCode/100 != 2 {
		msg := errorMessage(raw)
		ra := retryAfter(resp.Header.Get("Retry-After"), c.now())
		if ra == 0 {
			ra = retryAfterSeconds(raw)
		}
		return nil, &APIError{Status: resp.StatusCode, Method: cl.method, Path: cl.path, Message: msg,
			Kind: classify(resp.StatusCode, msg), RetryAfter: ra}
	}
	return raw, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func (c *Client) authenticate(req *http.Request, cl call) error {
	switch cl.auth {
	case authL1:
		if c.key == nil {
			return fmt.Errorf("clob %s %s: %w: no private key for L1 headers", cl.method, cl.path, ErrAuth)
		}
		h, err := L1Headers(c.key, c.chainID, c.now().Unix(), cl.nonce)
		if err != nil {
			return fmt.Errorf("clob %s %s: %w", cl.method, cl.path, err)
		}
		SetHeaders(req.Header, h)
	case authL2:
		creds := c.creds.Load()
		if creds == nil {
			return fmt.Errorf("clob %s %s: %w: derive or load them first", cl.method, cl.path, ErrNoCredentials)
		}
		if c.key == nil {
			return fmt.Errorf("clob %s %s: %w: no private key, so no POLY_ADDRESS", cl.method, cl.path, ErrAuth)
		}
		h, err := L2Headers(*creds, c.addr, c.now().Unix(), cl.method, cl.path, string(cl.body))
		if err != nil {
			return fmt.Errorf("clob %s %s: %w", cl.method, cl.path, err)
		}
		SetHeaders(req.Header, h)
	}
	return nil
}

// errorMessage extracts the API's message from an error body: {"error": …}, {"errorMsg": …},
// {"error_msg": …} or {"message": …}, else the body's text, shortened.
func errorMessage(raw []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		for _, k := range []string{"error", "errorMsg", "error_msg", "message"} {
			v, ok := m[k]
			if !ok {
				continue
			}
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				return shorten(s)
			}
			if len(v) > 0 && string(v) != "null" {
				return shorten(string(v))
			}
		}
	}
	return shorten(string(raw))
}

func shorten(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.TrimSpace(s))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > 86400 {
			s = 86400
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryAfterSeconds reads {"retry_after_seconds": n} from an error body (425 while the
// matching engine restarts, 503 in cancel-only mode); 0 when absent or not a positive number.
func retryAfterSeconds(raw []byte) time.Duration {
	var v struct {
		Secs json.Number `json:"retry_after_seconds"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Secs == "" {
		return 0
	}
	f, err := v.Secs.Float64()
	if err != nil || f <= 0 {
		return 0
	}
	return time.Duration(min(f, 86400) * float64(time.Second))
}

// decode parses a 2xx body into v; a malformed body is an ErrMalformedResponse that quotes no
// part of the body (it may hold secrets).
func decode(cl call, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s %s: %s", ErrMalformedResponse, cl.method, cl.path, describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: JSON %s where %s was expected", te.Field, te.Value, te.Type)
	case errors.As(err, new(*fieldError)):
		return err.Error()
	default:
		return "invalid JSON value"
	}
}
