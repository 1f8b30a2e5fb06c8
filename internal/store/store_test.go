package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/testfs"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("POLYBOT_STORE_CRASH_CHILD"); dir != "" {
		crashChild(dir) // never returns: the parent kills it
	}
	testfs.InUserNamespace() // the disk-fault tests mount a tmpfs
	goleak.VerifyTestMain(m)
}

const usdc = 1_000_000

var (
	alice = common.HexToAddress("0x1000000000000000000000000000000000000001")
	bob   = common.HexToAddress("0x1000000000000000000000000000000000000002")
	t0    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func openAt(t *testing.T, dir string, c *clock, edit func(o *Options)) *Store {
	t.Helper()
	o := Options{Dir: dir, Now: c.now, LockTimeout: 50 * time.Millisecond}
	if edit != nil {
		edit(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tempStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, nil)
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

func id(n int) IntentID {
	return IntentID{Tx: common.BigToHash(big.NewInt(int64(n/10 + 1))), LogIndex: uint(n % 10)}
}

func intent(n int, leader common.Address, token string, side polymarket.Side, shares, coll uint64) Intent {
	return Intent{ID: id(n), Leader: leader, Token: token, Side: side, Shares: shares, Collateral: coll, Salt: uint64(n) + 1}
}

// copyFill begins and completes an intent filled in full.
func copyFill(t *testing.T, s *Store, in Intent) {
	t.Helper()
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: in.Shares, FilledCollateral: in.Collateral, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
}

func TestFileIsPrivateAndSynced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	if s.db.NoSync {
		t.Fatal("NoSync is set: a crash could lose a committed intent")
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, Path(dir): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A file made readable by others is made private again on open.
	if err := os.Chmod(Path(dir), 0o644); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	if fi, _ := os.Stat(Path(dir)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after reopen, want 0600", fi.Mode().Perm())
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for name, o := range map[string]Options{
		"no dir":            {},
		"reset hour 24":     {Dir: t.TempDir(), ResetHourUTC: 24},
		"negative reset":    {Dir: t.TempDir(), ResetHourUTC: -1},
		"negative max":      {Dir: t.TempDir(), DecisionsMax: -1},
		"negative duration": {Dir: t.TempDir(), IntentsMaxAge: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := Open(o); err == nil {
				s.Close()
				t.Fatal("Open accepted invalid options")
			}
		})
	}
}

func TestIntentSurvivesARestartBeforeCompletion(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // stopped between sending and recording the result
		t.Fatal(err)
	}

	s = openAt(t, dir, c, nil)
	defer s.Close()
	pending, err := s.PendingIntents()
	if err != nil || len(pending) != 1 || pending[0].ID != in.ID || pending[0].Status != StatusPending ||
		pending[0].Salt != in.Salt || !pending[0].CreatedAt.Equal(t0) {
		t.Fatalf("PendingIntents = %+v, %v; want the begun intent", pending, err)
	}
	if err := s.BeginIntent(in); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("BeginIntent of the same fill again = %v, want ErrIntentExists", err)
	}
	if ps, _ := s.Positions(); len(ps) != 0 {
		t.Fatalf("an uncompleted intent changed positions: %+v", ps)
	}
	done := Result{Status: StatusFilled, FilledShares: 10 * usdc, FilledCollateral: 5 * usdc, OrderID: "0xabc"}
	if err := s.CompleteIntent(in.ID, done); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, done); !errors.Is(err, ErrIntentCompleted) {
		t.Fatalf("second CompleteIntent = %v, want ErrIntentCompleted", err)
	}
	p, ok, err := s.Position("7")
	if err != nil || !ok || p.Shares != 10*usdc || p.Cost != 5*usdc || p.Fills != 1 {
		t.Fatalf("position %+v %v %v: want the fill applied once", p, ok, err)
	}
	if pending, _ := s.PendingIntents(); len(pending) != 0 {
		t.Fatalf("still pending after completion: %+v", pending)
	}
	got, ok, err := s.IntentFor(in.ID)
	if err != nil || !ok || got.Status != StatusFilled || got.Result != done || !got.CompletedAt.Equal(t0) {
		t.Fatalf("IntentFor = %+v %v %v", got, ok, err)
	}
	if err := s.BeginIntent(in); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("BeginIntent of a completed fill = %v, want ErrIntentExists", err)
	}
}

// crashChild runs in a child process: it begins an intent, says so, and waits to be killed.
func crashChild(dir string) {
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := s.BeginIntent(intent(42, alice, "9", polymarket.Buy, 5*usdc, 2*usdc)); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("begun")
	select {} // killed here, before CompleteIntent
}

func TestIntentSurvivesAKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POLYBOT_STORE_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "begun" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(Options{Dir: dir, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("open after kill -9: %v", err)
	}
	defer s.Close()
	pending, err := s.PendingIntents()
	if err != nil || len(pending) != 1 || pending[0].ID != id(42) || pending[0].Shares != 5*usdc {
		t.Fatalf("after kill -9, PendingIntents = %+v, %v; want the begun intent", pending, err)
	}
}

func TestCompleteIntentRefusesBadResults(t *testing.T) {
	s, _ := tempStore(t)
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	sell := intent(2, alice, "7", polymarket.Sell, 10*usdc, 5*usdc)
	if err := s.BeginIntent(sell); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		in Intent
		r  Result
	}{
		"a SELL of one base unit more than ordered": {sell, Result{Status: StatusFilled, FilledShares: 10*usdc + 1, FilledCollateral: 5 * usdc}},
		"filled without shares":                     {in, Result{Status: StatusFilled}},
		"unfilled with shares":                      {in, Result{Status: StatusUnfilled, FilledShares: 1}},
		"unfilled with a fee":                       {in, Result{Status: StatusUnfilled, Fee: 1}},
		"unknown status":                            {in, Result{Status: "done", FilledShares: 1}},
		"still pending":                             {in, Result{Status: StatusPending}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.CompleteIntent(c.in.ID, c.r); !errors.Is(err, ErrBadResult) {
				t.Fatalf("err = %v, want ErrBadResult", err)
			}
		})
	}
	if pending, _ := s.PendingIntents(); len(pending) != 2 {
		t.Fatal("a refused result completed an intent")
	}
	if err := s.CompleteIntent(id(99), Result{Status: StatusUnfilled}); !errors.Is(err, ErrIntentNotFound) {
		t.Fatalf("completing an unknown intent = %v, want ErrIntentNotFound", err)
	}
	if err := s.BeginIntent(Intent{ID: id(2), Token: "7"}); !errors.Is(err, ErrBadIntent) {
		t.Fatalf("an intent without shares = %v, want ErrBadIntent", err)
	}
	// Exactly the ordered amount is accepted.
	if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: 10 * usdc, FilledCollateral: 5 * usdc}); err != nil {
		t.Fatal(err)
	}
}

func TestPositionsAreTheSumOfCompletedFills(t *testing.T) {
	s, c := tempStore(t)
	type fill struct {
		leader       common.Address
		token        string
		side         polymarket.Side
		shares, coll uint64
		status       Status
		filled       uint64 // shares filled; collateral pro rata
	}
	fills := []fill{
		{alice, "1", polymarket.Buy, 10 * usdc, 5 * usdc, StatusFilled, 10 * usdc},
		{bob, "1", polymarket.Buy, 20 * usdc, 12 * usdc, StatusFilled, 20 * usdc},
		{alice, "2", polymarket.Buy, 8 * usdc, 2 * usdc, StatusPartial, 6 * usdc},
		{alice, "3", polymarket.Buy, 5 * usdc, 4 * usdc, StatusUnfilled, 0},
		{alice, "1", polymarket.Sell, 4 * usdc, 3 * usdc, StatusFilled, 4 * usdc},
		{bob, "1", polymarket.Sell, 20 * usdc, 9 * usdc, StatusFilled, 20 * usdc},
		{alice, "2", polymarket.Sell, 6 * usdc, 3 * usdc, StatusFilled, 6 * usdc},
		{bob, "3", polymarket.Buy, 7_770_000, 3_333_333, StatusFilled, 7_770_000},
	}
	var spent uint64
	shares := map[string]uint64{}
	var buyColl, sellColl int64
	for i, f := range fills {
		in := intent(i, f.leader, f.token, f.side, f.shares, f.coll)
		if err := s.BeginIntent(in); err != nil {
			t.Fatal(err)
		}
		coll := f.coll * f.filled / f.shares
		if err := s.CompleteIntent(in.ID, Result{Status: f.status, FilledShares: f.filled, FilledCollateral: coll}); err != nil {
			t.Fatal(err)
		}
		if f.side == polymarket.Buy {
			spent += coll
			shares[f.token] += f.filled
			buyColl += int64(coll)
		} else {
			shares[f.token] -= f.filled
			sellColl += int64(coll)
		}
		c.advance(time.Minute)
	}
	open, err := s.Positions()
	if err != nil {
		t.Fatal(err)
	}
	lots, err := s.Lots()
	if err != nil {
		t.Fatal(err)
	}
	var cost uint64
	var realised int64
	for _, p := range open {
		if p.Shares != shares[p.Token] {
			t.Errorf("token %s: %d shares, want %d", p.Token, p.Shares, shares[p.Token])
		}
		var lotShares, lotCost uint64
		for _, l := range lots {
			if l.Token == p.Token {
				lotShares, lotCost = lotShares+l.Shares, lotCost+l.Cost
			}
		}
		if lotShares != p.Shares || lotCost != p.Cost {
			t.Errorf("token %s: position %d shares cost %d, its lots %d cost %d", p.Token, p.Shares, p.Cost, lotShares, lotCost)
		}
		cost += p.Cost
		realised += p.Realised
	}
	closed, _ := s.ClosedPositions(time.Time{})
	for _, p := range closed {
		if shares[p.Token] != 0 {
			t.Errorf("token %s closed with %d shares expected", p.Token, shares[p.Token])
		}
		realised += p.Realised
	}
	if len(open) != 2 || len(closed) != 1 || closed[0].Token != "2" {
		t.Fatalf("open %+v closed %+v; want tokens 1 and 3 open, 2 closed", open, closed)
	}
	// The cost basis worked out by hand, lot by lot, at each lot's average cost:
	//   token 1: alice's lot 10 for 5; bob's 20 for 12. Alice sells 4 of her 10 for 3: cost
	//            removed 5·4/10 = 2, realised 1, her lot 6 for 3. Bob sells all 20 for 9: cost
	//            removed 12, realised −3. Left: 6 shares, cost 3, realised −2.
	//   token 2: alice's lot 6 (of 8) for 2·6/8 = 1.5; she sells the 6 for 3: realised 1.5, closed.
	//   token 3: alice's order did not fill; bob's lot 7.77 for 3.333333, nothing sold.
	wantCost := map[string]uint64{"1": 3 * usdc, "3": 3_333_333}
	wantRealised := map[string]int64{"1": -2 * usdc, "2": 1_500_000, "3": 0}
	for _, p := range append(append([]Position(nil), open...), closed...) {
		if p.Cost != wantCost[p.Token] || p.Realised != wantRealised[p.Token] {
			t.Errorf("token %s: cost %d realised %d, want cost %d realised %d (worked out by hand)",
				p.Token, p.Cost, p.Realised, wantCost[p.Token], wantRealised[p.Token])
		}
	}
	// Money is conserved: what sells realised is what they brought in less the cost they
	// removed, and the cost left is what buys paid less that removed cost.
	if realised != sellColl-buyColl+int64(cost) || realised != -500_000 {
		t.Fatalf("realised %d, want sells %d - buys %d + cost held %d = -0.5 USDC", realised, sellColl, buyColl, cost)
	}
	d, err := s.Daily(c.t)
	if err != nil || d.Spent != spent || d.Copies != 7 || d.Realised != realised {
		t.Fatalf("daily %+v, %v; want spent %d, 7 copies, realised %d", d, err, spent, realised)
	}
	// Alice's lot in token 1 sold 4 of 10 at cost 2 (avg 0.5): 1 USDC realised.
	snap, err := s.Snapshot(alice, "1", c.t)
	if err != nil || snap.Held != 6*usdc || snap.MarketShares != 6*usdc || snap.MarketExposure != 3*usdc ||
		snap.LeaderExposure != 3*usdc || snap.TotalExposure != cost || len(snap.Open) != 2 {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
	if snap, _ := s.Snapshot(bob, "1", c.t); snap.Held != 0 || snap.LeaderExposure != 3_333_333 {
		t.Fatalf("bob's snapshot %+v", snap)
	}
}

func TestASellBeyondTheLeadersLotTakesFromOtherLots(t *testing.T) {
	s, _ := tempStore(t)
	copyFill(t, s, intent(1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc))
	copyFill(t, s, intent(2, bob, "1", polymarket.Buy, 10*usdc, 8*usdc))
	copyFill(t, s, intent(3, alice, "1", polymarket.Sell, 15*usdc, 9*usdc))
	p, _, _ := s.Position("1")
	lots, _ := s.Lots()
	if p.Shares != 5*usdc || p.Cost != 4*usdc || len(lots) != 1 || lots[0].Leader != bob || lots[0].Shares != 5*usdc || lots[0].Cost != 4*usdc {
		t.Fatalf("position %+v lots %+v", p, lots)
	}
	if p.Realised != 0 { // 9 in, 5 + 4 cost out
		t.Fatalf("realised %d, want 0", p.Realised)
	}
}

func TestReadOnlyOpen(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	if _, err := OpenReadOnly(Options{Dir: dir}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing store = %v, want not exist", err)
	}
	s := openAt(t, dir, c, nil)
	copyFill(t, s, intent(1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc))

	_, err := OpenReadOnly(Options{Dir: dir, LockTimeout: 20 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "the daemon holds the store; ask it over the admin socket") {
		t.Fatalf("read-only open while the daemon runs = %v, want ErrLocked saying to ask the daemon", err)
	}
	if _, err := Open(Options{Dir: dir, LockTimeout: 20 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writable open = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r1, err := OpenReadOnly(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := OpenReadOnly(Options{Dir: dir}) // readers share the lock
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if ps, err := r2.Positions(); err != nil || len(ps) != 1 || ps[0].Shares != 10*usdc {
		t.Fatalf("read-only Positions = %+v, %v", ps, err)
	}
	if err := r1.SetCheckpoint(5); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write through a read-only store = %v, want ErrReadOnly", err)
	}
	if _, err := Open(Options{Dir: dir, LockTimeout: 20 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("writable open while a CLI reads = %v, want ErrLocked", err)
	}
}

func TestReadOnlyOpenRefusesAForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenReadOnly(Options{Dir: dir}); err == nil {
		s.Close()
		t.Fatal("opened a file that is not a store")
	}
}

// The wallet monitor's checkpoint interface.
type checkpointer interface {
	Load() (uint64, bool, error)
	Save(block uint64) error
}

func TestCheckpointSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	var cp checkpointer = s.Checkpointer()
	if b, ok, err := cp.Load(); err != nil || ok || b != 0 {
		t.Fatalf("fresh store Load = %d, %v, %v; want none", b, ok, err)
	}
	for _, b := range []uint64{0, 70_000_000, 1<<64 - 1, 69_999_999} {
		if err := cp.Save(b); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openAt(t, dir, c, nil)
	defer s.Close()
	if b, ok, err := s.Checkpointer().Load(); err != nil || !ok || b != 69_999_999 {
		t.Fatalf("Load after restart = %d, %v, %v; want the last saved block", b, ok, err)
	}
}

func TestDayStart(t *testing.T) {
	tests := []struct {
		at   string
		hour int
		want string
	}{
		{"2025-06-01T00:00:00Z", 0, "2025-06-01T00:00:00Z"},
		{"2025-06-01T23:59:59.999999999Z", 0, "2025-06-01T00:00:00Z"},
		{"2025-06-01T05:59:59.999999999Z", 6, "2025-05-31T06:00:00Z"},
		{"2025-06-01T06:00:00Z", 6, "2025-06-01T06:00:00Z"},
		{"2025-03-01T01:00:00Z", 23, "2025-02-28T23:00:00Z"},
		{"2025-06-01T08:30:00+05:00", 6, "2025-05-31T06:00:00Z"}, // 03:30 UTC
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339Nano, tt.at)
		if got := DayStart(at, tt.hour).Format(time.RFC3339); got != tt.want {
			t.Errorf("DayStart(%s, %d) = %s, want %s", tt.at, tt.hour, got, tt.want)
		}
	}
}

func TestBreakerSurvivesRestartsAndResetsAtTheHour(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.Date(2025, 6, 1, 7, 0, 0, 0, time.UTC)}
	s := openAt(t, dir, c, func(o *Options) { o.ResetHourUTC = 6 })
	b, tripped, err := s.TripBreaker(c.t, -201*usdc)
	if err != nil || !tripped || !b.Tripped || b.PnL != -201*usdc {
		t.Fatalf("TripBreaker = %+v, %v, %v", b, tripped, err)
	}
	if _, again, _ := s.TripBreaker(c.t.Add(time.Hour), -300*usdc); again {
		t.Fatal("tripping a tripped breaker tripped it again")
	}
	s.Close()

	s = openAt(t, dir, c, func(o *Options) { o.ResetHourUTC = 6 })
	defer s.Close()
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{c.t, true},
		{time.Date(2025, 6, 2, 5, 59, 59, 999_999_999, time.UTC), true},
		{time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC), false},
		{time.Date(2025, 6, 1, 5, 59, 59, 0, time.UTC), false}, // the day before
	} {
		b, err := s.Breaker(tt.at)
		if err != nil || b.Tripped != tt.want {
			t.Errorf("Breaker(%s) = %+v, %v; want tripped %v", tt.at, b, err, tt.want)
		}
		if snap, _ := s.Snapshot(alice, "1", tt.at); snap.Breaker.Tripped != tt.want {
			t.Errorf("Snapshot(%s).Breaker.Tripped = %v, want %v", tt.at, snap.Breaker.Tripped, tt.want)
		}
	}
	if err := s.ResetBreaker(); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Breaker(c.t); b.Tripped {
		t.Fatal("ResetBreaker left it tripped")
	}
	if _, tripped, _ := s.TripBreaker(c.t, -1); !tripped {
		t.Fatal("a reset breaker cannot trip again")
	}
}

func TestDailyCountersRollAtTheResetHour(t *testing.T) {
	s, c := tempStore(t)
	if err := s.SetResetHourUTC(13); err != nil {
		t.Fatal(err)
	}
	c.t = time.Date(2025, 6, 1, 12, 59, 59, 0, time.UTC)
	copyFill(t, s, intent(1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc))
	c.t = time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)
	copyFill(t, s, intent(2, alice, "1", polymarket.Buy, 4*usdc, 2*usdc))
	before, _ := s.Daily(c.t.Add(-time.Second))
	after, _ := s.Daily(c.t)
	if before.Spent != 5*usdc || before.Copies != 1 || after.Spent != 2*usdc || after.Copies != 1 {
		t.Fatalf("day before the reset %+v, after %+v", before, after)
	}
	days, err := s.Days()
	if err != nil || len(days) != 2 || !days[0].Day.Equal(time.Date(2025, 5, 31, 13, 0, 0, 0, time.UTC)) ||
		!days[1].Day.Equal(c.t) || days[0].Spent != 5*usdc || days[1].Spent != 2*usdc {
		t.Fatalf("Days() = %+v, %v; want the two trading days, oldest first, with their spend", days, err)
	}
	if err := s.SetResetHourUTC(24); err == nil {
		t.Fatal("accepted reset hour 24")
	}
}

func decision(at time.Time, n int) Decision {
	return Decision{Time: at, Leader: alice, Token: strconv.Itoa(n), Side: "BUY", Action: "copy", Reason: "proportional copy",
		Shares: 10 * usdc, Collateral: 5 * usdc, Tx: common.BigToHash(big.NewInt(int64(n))), LogIndex: uint(n)}
}

func TestDecisionLogIsBoundedByCount(t *testing.T) {
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, func(o *Options) { o.DecisionsMax = 5 })
	defer s.Close()
	for n := range 8 {
		if err := s.AppendDecision(decision(c.t, n)); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Second)
	}
	all, err := s.Decisions(time.Time{}, 0)
	if err != nil || len(all) != 5 || all[0].Token != "3" || all[4].Token != "7" {
		t.Fatalf("log holds %d entries (%v), want the newest 5 (3..7)", len(all), err)
	}
	if n, _ := s.DecisionCount(); n != 5 {
		t.Fatalf("count %d, want 5", n)
	}
	if all[4] != decision(t0.Add(7*time.Second), 7) {
		t.Fatalf("entry read back differs: %+v", all[4])
	}
	// The latest 2 since entry 4, oldest first.
	got, _ := s.Decisions(t0.Add(4*time.Second), 2)
	if len(got) != 2 || got[0].Token != "6" || got[1].Token != "7" {
		t.Fatalf("Decisions(since 4s, 2) = %+v", got)
	}
	// since is inclusive.
	if got, _ := s.Decisions(t0.Add(7*time.Second), 0); len(got) != 1 {
		t.Fatalf("Decisions(since the last entry's time) = %d entries, want 1", len(got))
	}
}

func TestDecisionLogIsBoundedByAge(t *testing.T) {
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, func(o *Options) { o.DecisionsMaxAge = time.Hour })
	defer s.Close()
	for n := range 3 {
		if err := s.AppendDecision(decision(c.t, n)); err != nil {
			t.Fatal(err)
		}
		c.advance(30 * time.Minute)
	}
	// Now t0+90m: entry 0 (t0) is older than an hour; entry 1 (t0+30m) is exactly an hour
	// old when the clock reaches t0+90m and stays.
	c.t = t0.Add(90 * time.Minute)
	cmp, err := s.Compact(c.t)
	if err != nil || cmp.Decisions != 1 {
		t.Fatalf("Compact = %+v, %v; want 1 decision pruned", cmp, err)
	}
	c.advance(time.Nanosecond)
	if err := s.AppendDecision(decision(c.t, 3)); err != nil { // appending prunes too
		t.Fatal(err)
	}
	all, _ := s.Decisions(time.Time{}, 0)
	if len(all) != 2 || all[0].Token != "2" || all[1].Token != "3" {
		t.Fatalf("log %+v; want entries 2 and 3", all)
	}
	if n, _ := s.DecisionCount(); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
}

func TestCompactPrunesOnlyWhatIsOldAndDone(t *testing.T) {
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, func(o *Options) {
		o.IntentsMaxAge, o.ClosedPositionsMaxAge = time.Hour, 48*time.Hour
	})
	defer s.Close()
	copyFill(t, s, intent(1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc))  // completed at t0
	copyFill(t, s, intent(2, alice, "1", polymarket.Sell, 10*usdc, 6*usdc)) // closes token 1 at t0
	if err := s.BeginIntent(intent(3, alice, "2", polymarket.Buy, 10*usdc, 5*usdc)); err != nil {
		t.Fatal(err) // pending for ever
	}
	c.advance(time.Hour)
	copyFill(t, s, intent(4, alice, "3", polymarket.Buy, 10*usdc, 5*usdc)) // completed at t0+1h, open

	// Exactly an hour after the first completions: nothing is older than the limit.
	if cmp, err := s.Compact(t0.Add(time.Hour)); err != nil || cmp != (Compacted{}) {
		t.Fatalf("Compact at the limit = %+v, %v; want nothing pruned", cmp, err)
	}
	cmp, err := s.Compact(t0.Add(time.Hour + 1))
	if err != nil || cmp.Intents != 2 || cmp.Positions != 0 {
		t.Fatalf("Compact = %+v, %v; want the 2 old completed intents", cmp, err)
	}
	for n, want := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		if _, ok, _ := s.IntentFor(id(n)); ok != want {
			t.Errorf("intent %d kept = %v, want %v", n, ok, want)
		}
	}
	if p, _ := s.PendingIntents(); len(p) != 1 {
		t.Fatal("a pending intent was pruned")
	}
	cmp, err = s.Compact(t0.Add(48*time.Hour + 1))
	// Token 1 closed two days ago; the day of t0 started at 00:00, 60h ago.
	if err != nil || cmp.Positions != 1 || cmp.Days != 1 || cmp.Intents != 1 {
		t.Fatalf("Compact two days later = %+v, %v", cmp, err)
	}
	if closed, _ := s.ClosedPositions(time.Time{}); len(closed) != 0 {
		t.Fatalf("closed positions kept: %+v", closed)
	}
	if open, _ := s.Positions(); len(open) != 1 || open[0].Token != "3" {
		t.Fatalf("open positions %+v; compaction must keep them", open)
	}
	if d, _ := s.Daily(t0); d.Copies != 0 {
		t.Fatalf("daily counters of %s kept: %+v", t0, d)
	}
}

// churn copies n fills that open and close a position each, completing every intent, then
// compacts with the clock past every retention.
func churn(t testing.TB, s *Store, c *clock, round, n int) {
	for i := range n {
		k := round*n*2 + i*2
		token := strconv.Itoa(k)
		for j, side := range []polymarket.Side{polymarket.Buy, polymarket.Sell} {
			in := intent(k+j, alice, token, side, 10*usdc, 5*usdc)
			if err := s.BeginIntent(in); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: in.Shares, FilledCollateral: in.Collateral}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendDecision(decision(c.t, k+j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.advance(40 * 24 * time.Hour)
	if _, err := s.Compact(c.t); err != nil {
		t.Fatal(err)
	}
}

func TestCompactionBoundsTheFileSize(t *testing.T) {
	// POLYBOT_STORE_CHURN=100000 measures a long run (2 intents per iteration).
	n := 300
	if v, err := strconv.Atoi(os.Getenv("POLYBOT_STORE_CHURN")); err == nil && v > 0 {
		n = v
	}
	const rounds = 5
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, func(o *Options) { o.DecisionsMax = n })
	defer s.Close()
	var sizes []int64
	for r := range rounds {
		churn(t, s, c, r, n)
		size, err := s.Size()
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size)
	}
	t.Logf("%d intents per round; file size after each round: %v bytes", 2*n, sizes)
	for r := 2; r < rounds; r++ {
		if sizes[r] > sizes[1] {
			t.Fatalf("file grew from %d to %d bytes between rounds 2 and %d although compaction kept nothing new: %v", sizes[1], sizes[r], r+1, sizes)
		}
	}
	if st, _ := s.Positions(); len(st) != 0 {
		t.Fatal("churn left positions open")
	}
}

// A market BUY that met a better book holds more shares than ordered, and taker fees are part
// of what a position cost and of what a SELL brought in: cost basis, the day's spend and the
// realised P&L all include them.
func TestFillsKeepTheirTrueSharesAndFees(t *testing.T) {
	s, c := tempStore(t)
	buy := intent(1, alice, "7", polymarket.Buy, 10*usdc, 6*usdc)
	if err := s.BeginIntent(buy); err != nil {
		t.Fatal(err)
	}
	// 6 USDC spent at 0.50 instead of the 0.60 limit: 12 shares; fee 0.06 on top.
	if err := s.CompleteIntent(buy.ID, Result{Status: StatusFilled, FilledShares: 12 * usdc, FilledCollateral: 6 * usdc, Fee: 60_000}); err != nil {
		t.Fatalf("a BUY that got more shares than ordered was refused: %v", err)
	}
	p, ok, err := s.Position("7")
	if err != nil || !ok || p.Shares != 12*usdc || p.Cost != 6_060_000 {
		t.Fatalf("position %+v %v %v, want 12 shares that cost 6.06 (fee included)", p, ok, err)
	}
	if d, _ := s.Daily(c.now()); d.Spent != 6_060_000 {
		t.Fatalf("daily spend %d, want 6060000 (fee included)", d.Spent)
	}
	sell := intent(2, alice, "7", polymarket.Sell, 12*usdc, 8_400_000)
	if err := s.BeginIntent(sell); err != nil {
		t.Fatal(err)
	}
	// Sold at 0.70 for 8.40, fee 0.0504 out of the proceeds: 8.3496 - 6.06 = 2.2896.
	if err := s.CompleteIntent(sell.ID, Result{Status: StatusFilled, FilledShares: 12 * usdc, FilledCollateral: 8_400_000, Fee: 50_400}); err != nil {
		t.Fatal(err)
	}
	closed, err := s.ClosedPositions(time.Time{})
	if err != nil || len(closed) != 1 || closed[0].Realised != 2_289_600 {
		t.Fatalf("closed %+v %v, want realised 2.2896 (net of both fees)", closed, err)
	}
	if d, _ := s.Daily(c.now()); d.Realised != 2_289_600 {
		t.Fatalf("daily realised %d, want 2289600", d.Realised)
	}
	got, _, _ := s.IntentFor(sell.ID)
	if got.Result.Fee != 50_400 {
		t.Fatalf("the fee was not kept with the result: %+v", got.Result)
	}
}

// A SELL that leaves less than the CLOB's 0.01-share size step closes the position: that rest
// can never be sold, so its cost is written off instead of holding a slot open forever.
func TestARestBelowTheSizeStepIsWrittenOff(t *testing.T) {
	s, _ := tempStore(t)
	buy := intent(1, alice, "7", polymarket.Buy, 62_500_000, 20*usdc)
	if err := s.BeginIntent(buy); err != nil {
		t.Fatal(err)
	}
	// 20 USDC at 0.30: 66.666666 shares.
	if err := s.CompleteIntent(buy.ID, Result{Status: StatusFilled, FilledShares: 66_666_666, FilledCollateral: 19_999_999}); err != nil {
		t.Fatal(err)
	}
	sell := intent(2, alice, "7", polymarket.Sell, 66_660_000, 19_998_000)
	if err := s.BeginIntent(sell); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(sell.ID, Result{Status: StatusFilled, FilledShares: 66_660_000, FilledCollateral: 19_998_000}); err != nil {
		t.Fatal(err)
	}
	if p, open, err := s.Position("7"); err != nil || open {
		t.Fatalf("position %+v still open with 0.006666 shares (%v)", p, err)
	}
	closed, err := s.ClosedPositions(time.Time{})
	if err != nil || len(closed) != 1 || closed[0].Realised != 19_998_000-19_999_999 || closed[0].WrittenOff != 6_666 {
		t.Fatalf("closed %+v %v, want realised -0.001999 (the whole cost against the proceeds) and 0.006666 shares written off", closed, err)
	}
}
