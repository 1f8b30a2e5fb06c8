package clob

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

const anvilKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

var anvilAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

func TestClobAuthL1Vectors(t *testing.T) {
	runVectors(t, "clob_auth_l1", func(t *testing.T, v vector) {
		var in struct {
			PrivateKey string `json:"privateKey"`
			ChainID    int64  `json:"chainId"`
			Timestamp  string `json:"timestamp"`
			Nonce      int64  `json:"nonce"`
			Message    string `json:"message"`
		}
		var want map[string]string
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		if in.Message != ClobAuthMessage {
			t.Fatalf("vector message %q differs from ClobAuthMessage", in.Message)
		}
		key, err := crypto.HexToECDSA(strings.TrimPrefix(in.PrivateKey, "0x"))
		if err != nil {
			t.Fatal(err)
		}
		ts, err := strconv.ParseInt(in.Timestamp, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := L1Headers(key, in.ChainID, ts, in.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s = %q, want %q", k, got[k], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("got headers %v, want exactly %v", got, want)
		}
		h := http.Header{}
		SetHeaders(h, got)
		addr, nonce, err := VerifyL1(h, in.ChainID)
		if err != nil || addr != anvilAddress || nonce != in.Nonce {
			t.Errorf("VerifyL1 = %s, %d, %v", addr, nonce, err)
		}
	})
}

func TestVerifyL1RefusesForgeries(t *testing.T) {
	key, _ := crypto.HexToECDSA(anvilKey)
	good, err := L1Headers(key, 137, 100000, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]string)
		chain  int64
	}{
		{"a claim of another address", func(m map[string]string) { m[HeaderAddress] = common.Address{7}.Hex() }, 137},
		{"a changed timestamp", func(m map[string]string) { m[HeaderTimestamp] = "100001" }, 137},
		{"a changed nonce", func(m map[string]string) { m[HeaderNonce] = "1" }, 137},
		{"another chain", func(m map[string]string) {}, 80002},
		{"no signature", func(m map[string]string) { delete(m, HeaderSignature) }, 137},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			tc.mutate(m)
			h := http.Header{}
			for k, v := range m {
				h.Set(k, v) // canonicalised, as a server receives them
			}
			if _, _, err := VerifyL1(h, tc.chain); !errors.Is(err, ErrAuth) {
				t.Errorf("err = %v, want ErrAuth", err)
			}
		})
	}
}

func TestHMACVectors(t *testing.T) {
	runVectors(t, "l2_hmac", func(t *testing.T, v vector) {
		var in struct {
			Secret      string  `json:"secret_base64url"`
			SecretStd   string  `json:"secret_standard_b64"`
			SecretURL   string  `json:"secret_urlsafe_b64_nopad"`
			Timestamp   string  `json:"timestamp"`
			Method      string  `json:"method"`
			RequestPath string  `json:"requestPath"`
			Body        *string `json:"body"`
		}
		var want struct {
			Sig     string `json:"POLY_SIGNATURE"`
			SigBoth string `json:"POLY_SIGNATURE_both"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		body := ""
		if in.Body != nil {
			body = *in.Body
		}
		cases := map[string]string{in.Secret: want.Sig}
		if in.Secret == "" {
			cases = map[string]string{in.SecretStd: want.SigBoth, in.SecretURL: want.SigBoth}
		}
		for secret, w := range cases {
			if secret == "" || w == "" {
				t.Fatalf("vector lacks a secret or an expected signature: %s", v.Inputs)
			}
			got, err := HMACSignature(secret, in.Timestamp, in.Method, in.RequestPath, body)
			if err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("secret %q: signature %s, want %s", secret, got, w)
			}
		}
	})
}

func TestL2HeadersRoundTrip(t *testing.T) {
	creds := Credentials{APIKey: "f4f247b7-4ac7-ff29-a152-04fda0a8755a", Secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Passphrase: "pass"}
	body := `{"orderID":"0xabc"}`
	m, err := L2Headers(creds, anvilAddress, 1000000, "DELETE", "/order", body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		HeaderAddress:    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
		HeaderTimestamp:  "1000000",
		HeaderAPIKey:     creds.APIKey,
		HeaderPassphrase: "pass",
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("%s = %q, want %q", k, m[k], w)
		}
	}
	if sig, _ := HMACSignature(creds.Secret, "1000000", "DELETE", "/order", body); m[HeaderSignature] != sig {
		t.Errorf("signature %q, want %q", m[HeaderSignature], sig)
	}
	h := http.Header{}
	SetHeaders(h, m)
	addr, ts, err := VerifyL2(h, creds, "DELETE", "/order", body)
	if err != nil || addr != anvilAddress || ts != 1000000 {
		t.Fatalf("VerifyL2 = %s, %d, %v", addr, ts, err)
	}

	tests := []struct {
		name               string
		creds              Credentials
		method, path, body string
	}{
		{"a changed body", creds, "DELETE", "/order", `{"orderID":"0xabd"}`},
		{"another path", creds, "DELETE", "/orders", body},
		{"another method", creds, "POST", "/order", body},
		{"another secret", Credentials{creds.APIKey, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "pass"}, "DELETE", "/order", body},
		{"another passphrase", Credentials{creds.APIKey, creds.Secret, "other"}, "DELETE", "/order", body},
		{"another API key", Credentials{"k2", creds.Secret, "pass"}, "DELETE", "/order", body},
	}
	for _, tc := range tests {
		t.Run(tc.name+" does not verify", func(t *testing.T) {
			if _, _, err := VerifyL2(h, tc.creds, tc.method, tc.path, tc.body); !errors.Is(err, ErrAuth) {
				t.Errorf("err = %v, want ErrAuth", err)
			}
		})
	}
}

func TestL2HeadersRefusals(t *testing.T) {
	creds := Credentials{APIKey: "k", Secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Passphrase: "p"}
	tests := []struct {
		name         string
		creds        Credentials
		method, path string
		want         error
	}{
		{"a path with a query string", creds, "GET", "/data/orders?market=x", ErrAuth},
		{"a path without leading slash", creds, "GET", "data/orders", ErrAuth},
		{"an empty method", creds, "", "/order", ErrAuth},
		{"missing passphrase", Credentials{APIKey: "k", Secret: creds.Secret}, "GET", "/order", ErrAuth},
		{"a secret that is not base64", Credentials{"k", "not base64!", "p"}, "GET", "/order", ErrBadSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if _, err := L2Headers(tc.creds, anvilAddress, 1, tc.method, tc.path, ""); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCredentialsNeverShowSecrets(t *testing.T) {
	c := Credentials{APIKey: "api-key-1", Secret: "c2VjcmV0LXNlY3JldA==", Passphrase: "hunter2-passphrase"}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs[verb] = fmt.Sprintf(verb, c)
		outputs["&"+verb] = fmt.Sprintf(verb, &c)
	}
	outputs["Sprint"] = fmt.Sprint(c)
	outputs["slice"] = fmt.Sprintf("%v", []Credentials{c})
	outputs["struct"] = fmt.Sprintf("%+v", struct{ C Credentials }{c})
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	for how, out := range outputs {
		if strings.Contains(out, c.Secret) || strings.Contains(out, c.Passphrase) ||
			strings.Contains(out, fmt.Sprintf("%x", c.Secret)) || strings.Contains(out, fmt.Sprintf("%x", c.Passphrase)) {
			t.Errorf("%s leaks a secret: %s", how, out)
		}
	}
	if !strings.Contains(outputs["%v"], "api-key-1") {
		t.Errorf("%%v hides the API key too, which operators need: %s", outputs["%v"])
	}
}

func TestCredentialsValidate(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{"complete credentials pass", Credentials{"k", "AAAA", "p"}, true},
		{"a URL-alphabet unpadded secret passes", Credentials{"k", "--_A", "p"}, true},
		{"a missing secret fails", Credentials{"k", "", "p"}, false},
		{"a missing API key fails", Credentials{"", "AAAA", "p"}, false},
		{"a non-base64 secret fails", Credentials{"k", "%%%%", "p"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.creds.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestL1PolygonDocumentedSignature checks the rs client's Polygon ClobAuth signature, of which
// polymarket.md quotes the first and last bytes.
func TestL1PolygonDocumentedSignature(t *testing.T) {
	key, _ := crypto.HexToECDSA(anvilKey)
	m, err := L1Headers(key, 137, 100000, 0)
	if err != nil {
		t.Fatal(err)
	}
	sig := m[HeaderSignature]
	if !strings.HasPrefix(sig, "0xfdfb5abf") || !strings.HasSuffix(sig, "7508cc1b") || len(sig) != 132 {
		t.Errorf("signature %s, want 0xfdfb5abf…7508cc1b", sig)
	}
	if m[HeaderNonce] != "0" || m[HeaderTimestamp] != "100000" {
		t.Errorf("nonce %q timestamp %q", m[HeaderNonce], m[HeaderTimestamp])
	}
}
