package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/secrets"
)

// --clob-port starts a fake CLOB V2 next to the chain and writes its account's key and API
// credentials, 0600, where polybot's live config reads them.
func TestPolysimStartsAFakeCLOB(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	out, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		ran <- run(ctx, []string{"--ws-port", "0", "--http-port", "0", "--rate", "0", "--block-interval", "0",
			"--clob-port", "0", "--clob-creds-dir", dir}, outW, io.Discard)
		outW.Close()
	}()
	printed := map[string]string{}
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(wait, func() { outW.CloseWithError(io.ErrUnexpectedEOF) })
	defer deadline.Stop()
	for printed["account"] == "" && sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			printed[k] = strings.TrimSpace(v)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if printed["clob"] == "" || printed["account"] == "" {
		t.Fatalf("printed %v, want clob and account lines", printed)
	}
	for _, name := range []string{secrets.KeyCredential, secrets.APICredential} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v", name, err, fi)
		}
	}
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: filepath.Join(dir, secrets.KeyCredential)})
	if err != nil {
		t.Fatal(err)
	}
	if addr := crypto.PubkeyToAddress(key.PublicKey).Hex(); !strings.HasPrefix(printed["account"], addr) {
		t.Fatalf("account line %q, key of %s", printed["account"], addr)
	}
	creds, err := secrets.LoadCredentials(filepath.Join(dir, secrets.APICredential))
	if err != nil {
		t.Fatal(err)
	}
	c, err := clob.NewClient(clob.Options{BaseURL: printed["clob"], ChainID: 1337, Key: key, Creds: &creds})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.RequireV2(ctx); err != nil {
		t.Fatal(err)
	}
	ba, err := c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0)
	if err != nil || !ba.Balance.IsPositive() {
		t.Fatalf("balance %v, %v", ba, err)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// --clob-wallet takes eoa, proxy, safe or deposit; the wallets are payout stand-ins, so a
// wallet without --payouts is refused before the chain starts.
func TestPolysimRefusesAClobWalletItCannotPlace(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--clob-wallet", "ledger"}, "want eoa, proxy, safe or deposit"},
		{[]string{"--clob-wallet", "safe", "--payouts=false"}, "needs --payouts"},
	} {
		args := append([]string{"--ws-port", "0", "--http-port", "0", "--clob-port", "0"}, c.args...)
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("polysim %v: %v, want %q", c.args, err, c.want)
		}
	}
}
