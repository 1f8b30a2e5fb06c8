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

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/testing/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

const wait = 15 * time.Second

func TestPolysimPrintsWhereItListensAndStopsOnCancel(t *testing.T) {
	record := filepath.Join(t.TempDir(), "logs.jsonl")
	out, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		ran <- run(ctx, []string{"--ws-port", "0", "--http-port", "0", "--leaders", "2", "--rate", "50",
			"--block-interval", "100ms", "--record", record}, outW, io.Discard)
		outW.Close()
	}()

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	printed := map[string][]string{}
	timeout := time.After(wait)
	for len(printed["market"]) < 4 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("polysim stopped before printing 4 markets: %v, run: %v", printed, <-ran)
			}
			key, value, found := strings.Cut(l, ":")
			if !found {
				t.Fatalf("line %q has no key", l)
			}
			printed[key] = append(printed[key], strings.TrimSpace(value))
		case <-timeout:
			t.Fatalf("printed %v, want ws, http, chain id, 2 leaders and 4 markets", printed)
		}
	}
	wantLeaders := []string{
		common.HexToAddress("0x1000000000000000000000000000000000000001").Hex(),
		common.HexToAddress("0x1000000000000000000000000000000000000002").Hex(),
	}
	if strings.Join(printed["leader"], ",") != strings.Join(wantLeaders, ",") || strings.Join(printed["chain id"], "") != "1337" {
		t.Fatalf("printed leaders %v and chain id %v, want %v and 1337", printed["leader"], printed["chain id"], wantLeaders)
	}

	c, err := ethclient.DialContext(ctx, printed["ws"][0])
	if err != nil {
		t.Fatalf("dial the printed ws URL: %v", err)
	}
	defer c.Close()
	heads := make(chan *types.Header, 16)
	sub, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("SubscribeNewHead: %v", err)
	}
	for range 3 {
		select {
		case <-heads:
		case err := <-sub.Err():
			t.Fatalf("head subscription: %v", err)
		case <-timeout:
			t.Fatal("no new heads from polysim")
		}
	}
	sub.Unsubscribe()

	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run returned %v on cancellation, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("run did not return after cancellation")
	}
	for range lines {
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("read the record: %v", err)
	}
	if !strings.Contains(string(data), `"transactionHash"`) {
		t.Fatalf("the record holds no logs after 3 blocks at 50 fills per second: %q", data)
	}
}

func TestPolysimRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--host", "0.0.0.0"},
		{"--leaders", "0"},
		{"--rate", "-1"},
		{"--no-such-flag"},
		{"extra"},
		{"--max-fills", "-1"},
		{"--fast", "--max-fills", "10"},
		{"--fast", "--record", "logs.jsonl"}, // fast mode would silently record nothing
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
