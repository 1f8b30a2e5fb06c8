package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// wait is how long a test waits for an event that should come at once.
const wait = 15 * time.Second

func newSim(t *testing.T, opts Options) *Sim {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, rawURL string) *ethclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ethclient.DialContext(ctx, rawURL)
	if err != nil {
		t.Fatalf("dial %s: %v", rawURL, err)
	}
	t.Cleanup(c.Close)
	return c
}

// leaderQuery is the query polybot makes: OrderFilled from the exchanges with the leaders as maker.
func leaderQuery(s *Sim) ethereum.FilterQuery {
	var leaders []common.Hash
	for _, l := range s.LeaderAddresses() {
		leaders = append(leaders, polymarket.LeaderTopic(l))
	}
	return ethereum.FilterQuery{
		Addresses: s.Exchanges(),
		Topics:    [][]common.Hash{{polymarket.OrderFilledV2Topic}, nil, leaders},
	}
}

func subscribe(t *testing.T, c *ethclient.Client, q ethereum.FilterQuery) chan types.Log {
	t.Helper()
	ch := make(chan types.Log, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sub, err := c.SubscribeFilterLogs(ctx, q, ch)
	if err != nil {
		t.Fatalf("subscribe logs: %v", err)
	}
	t.Cleanup(sub.Unsubscribe)
	return ch
}

func receive(t *testing.T, ch chan types.Log, n int) []types.Log {
	t.Helper()
	var got []types.Log
	timeout := time.After(wait)
	for len(got) < n {
		select {
		case l := <-ch:
			got = append(got, l)
		case <-timeout:
			t.Fatalf("received %d logs, want %d", len(got), n)
		}
	}
	return got
}

func commit(t *testing.T, s *Sim) uint64 {
	t.Helper()
	n, err := s.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return n
}

func emit(t *testing.T, s *Sim, m Match) common.Hash {
	t.Helper()
	tx, err := s.EmitMatch(m)
	if err != nil {
		t.Fatalf("EmitMatch: %v", err)
	}
	return tx
}

// sameFill compares two fills field by field (TokenID by value).
func sameFill(a, b polymarket.Fill) bool {
	if a.TokenID == nil || b.TokenID == nil || a.TokenID.Cmp(b.TokenID) != 0 {
		return false
	}
	a.TokenID, b.TokenID = nil, nil
	return a == b
}

func decode(t *testing.T, logs []types.Log) []polymarket.Fill {
	t.Helper()
	var out []polymarket.Fill
	for i := range logs {
		f, err := polymarket.DecodeOrderFilled(&logs[i])
		if err != nil {
			t.Fatalf("decode log %d: %v", i, err)
		}
		out = append(out, f)
	}
	return out
}

func TestSubscriberReceivesExactlyTheLeadersFills(t *testing.T) {
	s := newSim(t, Options{})
	c := dial(t, s.WSURL())
	logs := subscribe(t, c, leaderQuery(s))
	leaders, markets := s.LeaderAddresses(), s.Markets()

	// Leader 1 takes two resting SELL orders: 30 + 12.5 shares at 0.55.
	takerMatch := Match{
		Leader: leaders[0], OrderHash: common.Hash{0xaa}, Side: polymarket.Buy, TokenID: markets[0],
		Shares: 42_500_000, Price: 550_000, Fee: 1_234,
		Makers: []MakerOrder{
			{Maker: common.HexToAddress("0xc0ffee0000000000000000000000000000000001"), Shares: 30_000_000},
			{Maker: common.HexToAddress("0xc0ffee0000000000000000000000000000000002"), Shares: 12_500_000},
		},
	}
	takerTx := emit(t, s, takerMatch)
	// Leader 2's resting SELL of 7 shares at 0.05 is taken on the neg-risk exchange.
	makerMatch := Match{
		Leader: leaders[1], OrderHash: common.Hash{0xbb}, Side: polymarket.Sell, TokenID: markets[1],
		Shares: 7_000_000, Price: 50_000, Taker: common.HexToAddress("0x7a7a000000000000000000000000000000000007"),
	}
	makerTx := emit(t, s, makerMatch)
	if got := s.Emitted(); len(got) != 0 {
		t.Fatalf("Emitted before Commit = %d fills, want none", len(got))
	}
	block := commit(t, s)

	got := decode(t, receive(t, logs, 2))
	emitted := s.Emitted()
	if len(emitted) != 2 {
		t.Fatalf("Emitted = %d fills, want 2", len(emitted))
	}
	for i := range got {
		if !sameFill(got[i], emitted[i]) {
			t.Errorf("fill %d: received %+v, Emitted has %+v", i, got[i], emitted[i])
		}
	}
	want := []polymarket.Fill{{
		Exchange: polymarket.CTFExchangeV2, Version: polymarket.V2, OrderHash: takerMatch.OrderHash,
		Maker: leaders[0], Taker: polymarket.CTFExchangeV2, Side: polymarket.Buy, TokenID: markets[0],
		Shares: 42_500_000, Collateral: 23_375_000, Fee: 1_234, Block: block, TxHash: takerTx, LogIndex: 2,
	}, {
		Exchange: polymarket.NegRiskCTFExchangeV2, Version: polymarket.V2, OrderHash: makerMatch.OrderHash,
		Maker: leaders[1], Taker: makerMatch.Taker, Side: polymarket.Sell, TokenID: markets[1],
		Shares: 7_000_000, Collateral: 350_000, Block: block, TxHash: makerTx, LogIndex: 4,
	}}
	header, err := c.HeaderByNumber(context.Background(), new(big.Int).SetUint64(block))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].BlockHash = got[i].BlockHash
		want[i].BlockTime = header.Time // the log's blockTimestamp
		if !sameFill(got[i], want[i]) {
			t.Errorf("fill %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// Nothing else was delivered: the next log is the one of a later block.
	emit(t, s, Match{Leader: leaders[2], Side: polymarket.Buy, TokenID: markets[2], Shares: Unit, Price: 10_000})
	commit(t, s)
	if next := decode(t, receive(t, logs, 1)); next[0].Maker != leaders[2] || next[0].Block != block+1 {
		t.Fatalf("next log is %+v, want leader 3's fill in block %d", next[0], block+1)
	}

	// eth_getLogs over the range agrees with the subscription.
	q := leaderQuery(s)
	q.FromBlock, q.ToBlock = big.NewInt(0), new(big.Int).SetUint64(block+1)
	filtered, err := c.FilterLogs(context.Background(), q)
	if err != nil {
		t.Fatalf("FilterLogs: %v", err)
	}
	if all := s.Emitted(); len(filtered) != 3 || len(all) != 3 {
		t.Fatalf("FilterLogs returned %d logs and Emitted %d fills, want 3 and 3", len(filtered), len(all))
	} else {
		for i, f := range decode(t, filtered) {
			if !sameFill(f, all[i]) {
				t.Errorf("filtered fill %d = %+v, Emitted has %+v", i, f, all[i])
			}
		}
	}

	// The whole block holds both matches as matchOrders emits them.
	everything, err := c.FilterLogs(context.Background(), ethereum.FilterQuery{BlockHash: &want[0].BlockHash})
	if err != nil {
		t.Fatalf("FilterLogs by block: %v", err)
	}
	type shape struct {
		topic0       common.Hash
		maker, taker common.Address
		tx           common.Hash
		index        uint
	}
	addr := func(l types.Log, i int) common.Address {
		if i >= len(l.Topics) {
			return common.Address{}
		}
		return common.BytesToAddress(l.Topics[i].Bytes())
	}
	var shapes []shape
	for _, l := range everything {
		shapes = append(shapes, shape{l.Topics[0], addr(l, 2), addr(l, 3), l.TxHash, l.Index})
	}
	of, om := polymarket.OrderFilledV2Topic, polymarket.OrdersMatchedV2Topic
	wantShapes := []shape{
		{of, takerMatch.Makers[0].Maker, leaders[0], takerTx, 0},
		{of, takerMatch.Makers[1].Maker, leaders[0], takerTx, 1},
		{of, leaders[0], polymarket.CTFExchangeV2, takerTx, 2},
		{om, leaders[0], common.Address{}, takerTx, 3},
		{of, leaders[1], makerMatch.Taker, makerTx, 4},
		{of, makerMatch.Taker, polymarket.NegRiskCTFExchangeV2, makerTx, 5},
		{om, makerMatch.Taker, common.Address{}, makerTx, 6},
	}
	if !slices.Equal(shapes, wantShapes) {
		t.Fatalf("block logs:\n%+v\nwant\n%+v", shapes, wantShapes)
	}
	// Each maker fill is at the maker's side and the match price: 30 shares for 16.5 pUSD.
	if f := decode(t, everything[:1])[0]; f.Side != polymarket.Sell || f.Shares != 30_000_000 || f.Collateral != 16_500_000 {
		t.Fatalf("first maker fill = %+v, want SELL 30 shares for 16.5", f)
	}
}

func TestRPCLooksLikeANode(t *testing.T) {
	s := newSim(t, Options{})
	for _, u := range []string{s.WSURL(), s.HTTPURL()} {
		c := dial(t, u)
		ctx := context.Background()
		id, err := c.ChainID(ctx)
		if err != nil || id.Uint64() != 1337 || s.ChainID() != 1337 {
			t.Fatalf("%s: chain id %v (%v), Sim says %d; want 1337", u, id, err, s.ChainID())
		}
		before, err := c.BlockNumber(ctx)
		if err != nil {
			t.Fatalf("%s: BlockNumber: %v", u, err)
		}
		n := commit(t, s)
		h, err := c.HeaderByNumber(ctx, nil)
		if err != nil || h.Number.Uint64() != n || n != before+1 {
			t.Fatalf("%s: head %v (%v) after Commit returned %d on block %d", u, h, err, n, before)
		}
		pu, err := url.Parse(u)
		if err != nil || net.ParseIP(pu.Hostname()).String() != "127.0.0.1" {
			t.Fatalf("URL %s is not on 127.0.0.1", u)
		}
	}
}

func TestRunMinesAtTheBlockIntervalAndStopsCleanly(t *testing.T) {
	const interval = 300 * time.Millisecond
	s, err := New(Options{BlockInterval: interval})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	c := dial(t, s.WSURL())
	heads := make(chan *types.Header, 16)
	sub, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("SubscribeNewHead: %v", err)
	}
	var got []*types.Header
	var times []time.Time
	timeout := time.After(wait)
	for len(got) < 4 {
		select {
		case h := <-heads:
			got = append(got, h)
			times = append(times, time.Now())
		case err := <-sub.Err():
			t.Fatalf("head subscription: %v", err)
		case <-timeout:
			t.Fatalf("received %d heads, want 4", len(got))
		}
	}
	sub.Unsubscribe()
	for i := 1; i < len(got); i++ {
		if got[i].Number.Uint64() != got[i-1].Number.Uint64()+1 || got[i].Time <= got[i-1].Time {
			t.Fatalf("head %d (%v, t=%d) does not follow head %d (%v, t=%d)",
				i, got[i].Number, got[i].Time, i-1, got[i-1].Number, got[i-1].Time)
		}
	}
	// The ticker never fires early; allow the first head one interval of delivery delay.
	if elapsed := times[3].Sub(times[0]); elapsed < 2*interval {
		t.Fatalf("4 heads in %v, want at least %v at one block per %v", elapsed, 2*interval, interval)
	}

	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run returned %v on cancellation, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after cancellation")
	}
	for _, u := range []string{s.WSURL(), s.HTTPURL()} {
		pu, _ := url.Parse(u)
		l, err := net.Listen("tcp", pu.Host)
		if err != nil {
			t.Fatalf("port of %s still taken after Run returned: %v", u, err)
		}
		l.Close()
	}
	if _, err := s.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Run returned %v, want ErrClosed", err)
	}
	if _, err := s.EmitMatch(Match{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("EmitMatch after Run returned %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRandomTradingIsRealistic(t *testing.T) {
	var rec bytes.Buffer
	s, err := New(Options{Rate: 100, BlockInterval: 50 * time.Millisecond, Seed: 7, Record: &rec})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := dial(t, s.WSURL())
	logs := subscribe(t, c, leaderQuery(s))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	const n = 60
	received := decode(t, receive(t, logs, n))
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	emitted := s.Emitted()
	if len(emitted) < n {
		t.Fatalf("Emitted = %d fills, subscriber received %d", len(emitted), n)
	}
	for i := range received {
		if !sameFill(received[i], emitted[i]) {
			t.Fatalf("fill %d: received %+v, Emitted has %+v", i, received[i], emitted[i])
		}
	}

	leaders := s.LeaderAddresses()
	held := map[holding]uint64{}
	var buys, sells, takers, makers int
	markets := map[string]bool{}
	for i, f := range emitted {
		if !slices.Contains(leaders, f.Maker) {
			t.Fatalf("fill %d: maker %v is not a leader", i, f.Maker)
		}
		if f.Exchange != s.ExchangeFor(f.TokenID) {
			t.Fatalf("fill %d: token %v on exchange %v, want %v", i, f.TokenID, f.Exchange, s.ExchangeFor(f.TokenID))
		}
		markets[f.Market()] = true
		// Price on a 0.01 tick in [0.05, 0.95], collateral exact.
		if f.Shares%Lot != 0 || f.Shares < Lot || (f.Side == polymarket.Buy && f.Shares > 302*Unit) {
			t.Fatalf("fill %d: %v %d shares, want whole lots, buys of up to a few hundred shares", i, f.Side, f.Shares)
		}
		cents := f.Collateral * 100 / (f.Shares / Lot) / Lot
		if cents < 5 || cents > 95 || f.Collateral*100 != cents*f.Shares {
			t.Fatalf("fill %d: %d collateral for %d shares is not a 0.05..0.95 price on a 0.01 tick", i, f.Collateral, f.Shares)
		}
		key := holding{f.Maker, f.Market()}
		if f.Side == polymarket.Buy {
			buys++
			held[key] += f.Shares
		} else {
			sells++
			if f.Shares > held[key] {
				t.Fatalf("fill %d: %v sells %d shares of %v holding %d", i, f.Maker, f.Shares, f.Market(), held[key])
			}
			held[key] -= f.Shares
		}
		if f.IsTaker() {
			takers++
		} else {
			makers++
		}
	}
	if buys == 0 || sells == 0 || takers == 0 || makers == 0 || len(markets) < 2 {
		t.Fatalf("%d buys, %d sells, %d taker and %d maker fills over %d markets: want a mix", buys, sells, takers, makers, len(markets))
	}

	// The record holds every log of every match, each the JSON eth_getLogs returns.
	var recorded []types.Log
	sc := bufio.NewScanner(&rec)
	for sc.Scan() {
		var l types.Log
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("record line %q: %v", sc.Text(), err)
		}
		recorded = append(recorded, l)
	}
	var leaderFills, matched int
	for _, l := range recorded {
		switch l.Topics[0] {
		case polymarket.OrdersMatchedV2Topic:
			matched++
		case polymarket.OrderFilledV2Topic:
			if slices.Contains(leaders, common.BytesToAddress(l.Topics[2].Bytes())) {
				leaderFills++
			}
		}
	}
	if leaderFills != len(emitted) || matched != len(emitted) || len(recorded) < 3*len(emitted) {
		t.Fatalf("record: %d logs, %d leader fills, %d OrdersMatched; want ≥%d, %d, %d",
			len(recorded), leaderFills, matched, 3*len(emitted), len(emitted), len(emitted))
	}
}

func TestSameSeedSameTrades(t *testing.T) {
	draw := func(seed int64) []Match {
		s := newSim(t, Options{Seed: seed})
		var out []Match
		for range 30 {
			m, _, err := s.EmitRandomFill()
			if err != nil {
				t.Fatalf("EmitRandomFill: %v", err)
			}
			out = append(out, m)
		}
		return out
	}
	a, b, c := draw(3), draw(3), draw(4)
	same := func(x, y []Match) bool {
		return slices.EqualFunc(x, y, func(p, q Match) bool {
			return p.Leader == q.Leader && p.Side == q.Side && p.TokenID.Cmp(q.TokenID) == 0 &&
				p.Shares == q.Shares && p.Price == q.Price && slices.Equal(p.Makers, q.Makers)
		})
	}
	if !same(a, b) {
		t.Fatal("two runs with seed 3 traded differently")
	}
	if same(a, c) {
		t.Fatal("seeds 3 and 4 traded the same")
	}
}

func TestAddedLeaderTrades(t *testing.T) {
	s := newSim(t, Options{Leaders: 1})
	added := common.HexToAddress("0x2000000000000000000000000000000000000002")
	if err := s.AddLeader(added); err != nil {
		t.Fatalf("AddLeader: %v", err)
	}
	if err := s.AddLeader(added); err != nil {
		t.Fatalf("AddLeader twice: %v", err)
	}
	if got := s.LeaderAddresses(); !slices.Equal(got, []common.Address{LeaderAddress(1), added}) {
		t.Fatalf("LeaderAddresses = %v", got)
	}
	for range 100 {
		m, _, err := s.EmitRandomFill()
		if err != nil {
			t.Fatalf("EmitRandomFill: %v", err)
		}
		if m.Leader == added {
			commit(t, s)
			for _, f := range s.Emitted() {
				if f.Maker == added {
					return
				}
			}
			t.Fatal("the added leader's fill is not in Emitted")
		}
	}
	t.Fatal("the added leader never traded in 100 fills")
}

func TestEmitMatchRejectsImpossibleMatches(t *testing.T) {
	s := newSim(t, Options{})
	token := s.Markets()[0]
	leader := LeaderAddress(1)
	valid := Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10 * Unit, Price: 500_000}
	cases := []struct {
		name   string
		change func(m *Match)
	}{
		{"no leader", func(m *Match) { m.Leader = common.Address{} }},
		{"no token", func(m *Match) { m.TokenID = nil }},
		{"zero shares", func(m *Match) { m.Shares = 0 }},
		{"price of 1.0", func(m *Match) { m.Price = Unit }},
		{"collateral not a whole base unit", func(m *Match) { m.Shares, m.Price = 1, 550_000 }},
		{"exchange without emitter", func(m *Match) { m.Exchange = common.HexToAddress("0x1234") }},
		{"makers that do not add up", func(m *Match) { m.Makers = []MakerOrder{{Maker: common.Address{1}, Shares: Unit}} }},
		{"taker is the exchange", func(m *Match) { m.Taker = polymarket.CTFExchangeV2 }},
		{"bad side", func(m *Match) { m.Side = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid
			tc.change(&m)
			if _, err := s.EmitMatch(m); !errors.Is(err, ErrBadMatch) {
				t.Fatalf("EmitMatch = %v, want ErrBadMatch", err)
			}
		})
	}
	if _, err := s.EmitMatch(valid); err != nil {
		t.Fatalf("the valid match was refused: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"a host that is not loopback", Options{Host: "0.0.0.0"}},
		{"a host name", Options{Host: "example.com"}},
		{"a negative port", Options{WSPort: -1}},
		{"a port above 65535", Options{HTTPPort: 70000}},
		{"negative leaders", Options{Leaders: -1}},
		{"too many markets", Options{Markets: MaxMarkets + 1}},
		{"a NaN rate", Options{Rate: math.NaN()}},
		{"a negative rate", Options{Rate: -1}},
		{"a negative block interval", Options{BlockInterval: -time.Second}},
		{"an exchange listed twice", Options{Exchanges: []common.Address{{1}, {1}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := New(tc.opts); err == nil {
				s.Close()
				t.Fatal("New accepted the options")
			}
		})
	}
}

func TestLeaderAddressesAndMarketsAreFixed(t *testing.T) {
	if got := LeaderAddress(3); got != common.HexToAddress("0x1000000000000000000000000000000000000003") {
		t.Fatalf("LeaderAddress(3) = %v", got)
	}
	a, b := MarketToken(0), MarketToken(1)
	if a.Cmp(b) == 0 || a.BitLen() < 200 || MarketToken(0).Cmp(a) != 0 {
		t.Fatalf("market tokens %v and %v are not distinct fixed 256-bit numbers", a, b)
	}
}

// The demo's follower must not see every position swing by half its cost at each trade: a
// market's price wanders by at most 2 cents from one trade to the next and stays in 0.05–0.95.
func TestRandomFillPricesWanderLikeAMarket(t *testing.T) {
	s := &Sim{
		rng:      rand.New(rand.NewPCG(1, 2)),
		leaders:  []common.Address{{1}, {2}},
		markets:  []*big.Int{big.NewInt(11), big.NewInt(22), big.NewInt(33)},
		holdings: make(map[holding]uint64),
		prices:   make(map[string]uint64),
	}
	last := map[string]uint64{}
	moved := 0
	for range 5000 {
		m := s.randomMatch()
		tok := m.TokenID.String()
		if m.Price < 5*Unit/100 || m.Price > 95*Unit/100 {
			t.Fatalf("price %d outside 0.05–0.95", m.Price)
		}
		if p, ok := last[tok]; ok {
			d := max(p, m.Price) - min(p, m.Price)
			if d > 2*Unit/100 {
				t.Fatalf("market %s jumped from %d to %d", tok, p, m.Price)
			}
			if d > 0 {
				moved++
			}
		}
		last[tok] = m.Price
		if m.Side == polymarket.Buy {
			s.holdings[holding{m.Leader, tok}] += m.Shares
		} else {
			s.holdings[holding{m.Leader, tok}] -= m.Shares
		}
	}
	if moved < 1000 {
		t.Fatalf("prices moved in only %d of 5000 trades: the market is frozen", moved)
	}
}
