// Package replay backtests a leader set offline: it runs recorded Polygon logs (JSON lines in the
// shape eth_getLogs returns them, as `polysim --record` writes them) through the daemon's own
// executor, strategy and state store with the paper broker, and sums up what polybot would have
// copied, skipped and held.
//
// The replay decides exactly as the daemon would: the monitor's own leader rule (monitor.Classify: an
// OrderFilled log from a configured exchange whose maker is an enabled leader), the same dedup
// key (transaction hash and log index), the same executor with a bbolt store in a temporary
// directory, one fill at a time in file order. Each fill is decided at its own block's time, as
// if polybot had seen it live; no chain RPC and no CLOB is contacted.
package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// MaxLineBytes bounds one line of the input; a longer line is counted as malformed and skipped.
const MaxLineBytes = 4 << 20

// maxListed bounds the malformed lines a Summary lists (all are counted).
const maxListed = 50

// Options configures Run.
type Options struct {
	// Config supplies the exchanges, the leaders and the copy and risk sections; required.
	Config *config.Config
	// Input is the recorded logs, one JSON log object (or one JSON array of them) a line; required.
	Input io.Reader
	// Name is what the summary calls the input, such as its file name.
	Name string
	// Log receives the executor's log of each decision; nil discards it.
	Log *zap.Logger
	// Now is the decision time of leader fills read before any log with a blockTimestamp;
	// default time.Now, read once at start.
	Now func() time.Time
	// TempDir is where the temporary state store is created (and removed after); "" means
	// the system's temporary directory.
	TempDir string
}

// Summary is the outcome of a replay. Money and shares are exact decimals (USDC and shares,
// 6 decimal places at most); JSON writes them as strings.
type Summary struct {
	File  string `json:"file"`
	Lines int    `json:"lines"` // lines read, blank ones included
	Logs  int    `json:"logs"`  // log objects parsed

	// Every log falls in exactly one of these.
	Removed        int `json:"removed"`         // "removed": true (reverted by a reorg): skipped
	OtherEvents    int `json:"other_events"`    // not OrderFilled (OrdersMatched, ...)
	OtherExchanges int `json:"other_exchanges"` // OrderFilled from an address not in chain.exchanges
	OtherMakers    int `json:"other_makers"`    // OrderFilled whose maker is not a configured leader
	Disabled       int `json:"disabled"`        // OrderFilled whose maker is a leader with enabled: false
	Duplicates     int `json:"duplicates"`      // a leader fill seen before (same transaction and log index)
	LeaderFills    int `json:"leader_fills"`    // leader fills decided
	MalformedLogs  int `json:"malformed_logs"`  // not a log, or not a valid OrderFilled log

	Copied  int      `json:"copied"`  // copied as sized
	Reduced int      `json:"reduced"` // copied smaller, to stay within a limit
	Skipped int      `json:"skipped"` // not copied
	Failed  int      `json:"failed"`  // the store failed; see the log
	Reduces []Reason `json:"reduced_by"`
	Skips   []Reason `json:"skipped_by"`

	// Malformed counts the lines that are not JSON logs and the logs that are not valid
	// OrderFilled logs; MalformedLines lists the first of them.
	Malformed      int       `json:"malformed"`
	MalformedLines []Problem `json:"malformed_lines"`

	// Untimed are leader fills whose log had no blockTimestamp: each was decided at the
	// latest block time read before it (or at the replay's start time), and copy.max_fill_age
	// did not apply to it.
	Untimed    int       `json:"untimed"`
	FirstBlock uint64    `json:"first_block"`
	LastBlock  uint64    `json:"last_block"`
	FirstTime  time.Time `json:"first_time"` // block times of the leader fills; zero when unknown
	LastTime   time.Time `json:"last_time"`

	Positions []Position `json:"positions"` // open at the end, by token
	// ClosedPositions are positions opened and closed again during the replay.
	ClosedPositions int             `json:"closed_positions"`
	Cost            decimal.Decimal `json:"cost"`       // of the open positions
	Value           decimal.Decimal `json:"value"`      // of the open positions at their last prices
	Realised        decimal.Decimal `json:"realised"`   // from copied SELLs
	Unrealised      decimal.Decimal `json:"unrealised"` // Value - Cost
	PnL             decimal.Decimal `json:"pnl"`        // Realised + Unrealised
}

// Reason counts the decisions that one limit (a config key) or, without one, one reason caused.
type Reason struct {
	Key     string `json:"key"`     // the config key, or the reason when no setting caused it
	Count   int    `json:"count"`   // decisions
	Example string `json:"example"` // the first decision's reason
}

// Problem is one malformed line.
type Problem struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// Position is an open position at the end of the replay, marked at its token's last price: the
// price of the last OrderFilled log in the input for that token, whoever its maker.
type Position struct {
	Token      string          `json:"token"`
	Shares     decimal.Decimal `json:"shares"`
	Cost       decimal.Decimal `json:"cost"`
	LastPrice  decimal.Decimal `json:"last_price"`
	Value      decimal.Decimal `json:"value"`      // Shares x LastPrice, rounded down to a base unit
	Unrealised decimal.Decimal `json:"unrealised"` // Value - Cost
	Realised   decimal.Decimal `json:"realised"`   // from SELLs since the position opened
	Fills      int             `json:"fills"`      // copies applied since it opened
}

// Run replays opts.Input and returns the summary. Lines and logs that cannot be read are
// counted in the summary, never fatal; Run fails only when the input cannot be read, the
// temporary store cannot be created, or ctx ends.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Config == nil || opts.Input == nil {
		return nil, errors.New("replay: Config and Input are required")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := opts.Config
	pol, err := strategy.PolicyFromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	dir, err := os.MkdirTemp(opts.TempDir, "polybot-replay-")
	if err != nil {
		return nil, fmt.Errorf("replay: temporary state directory: %w", err)
	}
	defer os.RemoveAll(dir)

	r := &replayer{
		sum:       &Summary{File: opts.Name},
		exchanges: make(map[common.Address]bool, len(cfg.Chain.Exchanges)),
		leaders:   make(map[common.Address]bool, len(cfg.Leaders)),
		seen:      make(map[fillKey]bool),
		last:      make(map[string]lastFill),
		reduces:   make(map[string]*Reason),
		skips:     make(map[string]*Reason),
		outcomes:  make(chan string, 1),
	}
	for _, a := range cfg.Chain.Exchanges {
		r.exchanges[a] = true
	}
	for _, l := range cfg.Leaders {
		r.leaders[l.Address] = l.Enabled
	}
	r.clock.Store(opts.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, r.clock.Load()).UTC() }

	r.store, err = store.Open(store.Options{Dir: dir, ResetHourUTC: cfg.Risk.ResetHourUTC, Now: now})
	if err != nil {
		return nil, fmt.Errorf("replay: temporary state store: %w", err)
	}
	defer r.store.Close()
	// One worker: fills are decided one at a time, in file order, whatever their market.
	r.exec, err = executor.New(executor.Options{
		Broker:   broker.Paper{},
		Store:    r.store,
		Strategy: pol,
		LockTTL:  cfg.Executor.LockTTL,
		Workers:  1,
		Queue:    1,
		Log:      opts.Log,
		Now:      now,
		Observer: observer(r.outcomes),
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() { ran <- r.exec.Run(runCtx, time.Minute) }()
	err = r.read(ctx, opts.Input)
	stop()
	if rerr := <-ran; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := r.finish(); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return r.sum, nil
}

type fillKey struct {
	tx  common.Hash
	idx uint
}

// lastFill is the last price seen for a token, as collateral for shares (base units).
type lastFill struct{ collateral, shares uint64 }

type replayer struct {
	sum       *Summary
	exchanges map[common.Address]bool
	leaders   map[common.Address]bool // configured leaders: enabled or not
	seen      map[fillKey]bool
	last      map[string]lastFill
	reduces   map[string]*Reason
	skips     map[string]*Reason
	store     *store.Store
	exec      *executor.Executor
	outcomes  chan string
	clock     atomic.Int64 // the decision time, unix nanoseconds
	blockTime uint64       // the latest blockTimestamp read
}

// observer hands each decided fill's outcome to the replay loop waiting for it.
type observer chan string

func (o observer) ObserveCopy(outcome string, _ time.Duration) { o <- outcome }

// read reads the input line by line and replays each log.
func (r *replayer) read(ctx context.Context, in io.Reader) error {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, tooLong, err := readLine(br)
		if len(line) > 0 || tooLong || err == nil {
			r.sum.Lines++
			n := r.sum.Lines
			switch {
			case tooLong:
				r.malformed(n, fmt.Sprintf("line longer than %d bytes", MaxLineBytes))
			default:
				if perr := r.line(ctx, n, line); perr != nil {
					return perr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read logs: %w", err)
		}
	}
}

// readLine reads one line without its end of line. A line longer than MaxLineBytes is read to
// its end and reported as tooLong, with what was kept of it. err is io.EOF at the end of input.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxLineBytes {
			tooLong = true
		} else {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// line replays the logs of one line: a JSON log object or a JSON array of them.
func (r *replayer) line(ctx context.Context, n int, line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	var logs []types.Log
	if line[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			r.malformed(n, "not a JSON array of logs: "+err.Error())
			return nil
		}
		for _, m := range raw {
			var l types.Log
			if err := json.Unmarshal(m, &l); err != nil {
				r.sum.Logs++
				r.sum.MalformedLogs++
				r.malformed(n, "not a log: "+err.Error())
				continue
			}
			logs = append(logs, l)
		}
	} else {
		var l types.Log
		if err := json.Unmarshal(line, &l); err != nil {
			r.malformed(n, "not a JSON log: "+err.Error())
			return nil
		}
		logs = append(logs, l)
	}
	for i := range logs {
		if err := r.log(ctx, n, &logs[i]); err != nil {
			return err
		}
	}
	return nil
}

// log sorts one log out with the monitor's own Classify (an enabled leader is a leader; a
// disabled one is counted apart) and replays it when it is a new leader fill.
func (r *replayer) log(ctx context.Context, n int, l *types.Log) error {
	s := r.sum
	s.Logs++
	if l.BlockTimestamp > 0 {
		r.blockTime = l.BlockTimestamp
	}
	if l.Removed {
		s.Removed++
		return nil
	}
	v := monitor.Classify(l, func(a common.Address) bool { return r.exchanges[a] },
		func(a common.Address) bool { return r.leaders[a] })
	switch v.Kind {
	case monitor.OtherEvent:
		s.OtherEvents++
		return nil
	case monitor.Malformed:
		s.MalformedLogs++
		r.malformed(n, v.Err.Error())
		return nil
	case monitor.OtherExchange:
		s.OtherExchanges++
		return nil
	}
	f := v.Fill
	r.last[f.Market()] = lastFill{f.Collateral, f.Shares}
	if v.Kind == monitor.OtherMaker {
		if _, configured := r.leaders[f.Maker]; configured {
			s.Disabled++
		} else {
			s.OtherMakers++
		}
		return nil
	}
	key := fillKey{f.TxHash, f.LogIndex}
	if r.seen[key] {
		s.Duplicates++
		return nil
	}
	r.seen[key] = true
	return r.decide(ctx, f)
}

// decide hands one leader fill to the executor at its block's time and waits for the outcome.
func (r *replayer) decide(ctx context.Context, f polymarket.Fill) error {
	s := r.sum
	s.LeaderFills++
	if f.BlockTime == 0 {
		// No blockTimestamp: decide it at the latest block time read, or the start time.
		s.Untimed++
		if r.blockTime > 0 {
			f.BlockTime = r.blockTime
		} else {
			f.BlockTime = uint64(max(time.Unix(0, r.clock.Load()).Unix(), 1))
		}
	}
	at := time.Unix(int64(f.BlockTime), 0).UTC()
	r.clock.Store(at.UnixNano())
	if s.FirstTime.IsZero() {
		s.FirstBlock, s.FirstTime = f.Block, at
	}
	s.LastBlock, s.LastTime = f.Block, at

	if err := r.exec.Submit(ctx, f); err != nil {
		return err
	}
	var outcome string
	select {
	case outcome = <-r.outcomes:
	case <-ctx.Done():
		return ctx.Err()
	}
	dec, found, err := r.decision(at, &f)
	if err != nil {
		return err
	}
	switch {
	case outcome == "copied" && dec.Action == strategy.Reduce.String():
		s.Reduced++
		count(r.reduces, dec)
	case outcome == "copied":
		s.Copied++
	case outcome == "skipped":
		s.Skipped++
		switch {
		case !found:
			dec.Reason = "already copied"
		case dec.Action != strategy.Skip.String():
			dec.Limit, dec.Reason = "", "order not filled"
		}
		count(r.skips, dec)
	default:
		s.Failed++
	}
	return nil
}

// decision reads the decision the executor recorded on f at time at.
func (r *replayer) decision(at time.Time, f *polymarket.Fill) (store.Decision, bool, error) {
	match := func(ds []store.Decision) (store.Decision, bool) {
		for i := len(ds) - 1; i >= 0; i-- {
			if ds[i].Tx == f.TxHash && ds[i].LogIndex == f.LogIndex {
				return ds[i], true
			}
		}
		return store.Decision{}, false
	}
	// With block times in order the newest decision is this fill's; otherwise look further.
	for _, limit := range []int{1, 0} {
		ds, err := r.store.Decisions(at, limit)
		if err != nil {
			return store.Decision{}, false, fmt.Errorf("read decisions: %w", err)
		}
		if d, ok := match(ds); ok {
			return d, true, nil
		}
	}
	return store.Decision{}, false, nil
}

func count(m map[string]*Reason, d store.Decision) {
	key := d.Limit
	if key == "" {
		key = d.Reason
	}
	if c, ok := m[key]; ok {
		c.Count++
		return
	}
	m[key] = &Reason{Key: key, Count: 1, Example: d.Reason}
}

func (r *replayer) malformed(line int, msg string) {
	r.sum.Malformed++
	if len(r.sum.MalformedLines) < maxListed {
		r.sum.MalformedLines = append(r.sum.MalformedLines, Problem{Line: line, Error: msg})
	}
}

// finish reads the final positions and fills in the totals.
func (r *replayer) finish() error {
	s := r.sum
	s.Reduces, s.Skips = sorted(r.reduces), sorted(r.skips)
	open, err := r.store.Positions()
	if err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	closed, err := r.store.ClosedPositions(time.Time{})
	if err != nil {
		return fmt.Errorf("read closed positions: %w", err)
	}
	s.ClosedPositions = len(closed)
	realised := new(big.Int)
	for _, p := range closed {
		realised.Add(realised, big.NewInt(p.Realised))
	}
	cost, value := new(big.Int), new(big.Int)
	sort.Slice(open, func(i, j int) bool { return open[i].Token < open[j].Token })
	for _, p := range open {
		realised.Add(realised, big.NewInt(p.Realised))
		price := decimal.NewFromUint64(p.LastPrice).Shift(-6) // our own last copy's price
		if lf, ok := r.last[p.Token]; ok && lf.shares > 0 {
			price = decimal.NewFromUint64(lf.collateral).DivRound(decimal.NewFromUint64(lf.shares), 6)
		}
		v := decimal.NewFromUint64(p.Shares).Mul(price).Floor().BigInt() // base units
		c := new(big.Int).SetUint64(p.Cost)
		cost.Add(cost, c)
		value.Add(value, v)
		s.Positions = append(s.Positions, Position{
			Token:      p.Token,
			Shares:     baseUnits(new(big.Int).SetUint64(p.Shares)),
			Cost:       baseUnits(c),
			LastPrice:  price,
			Value:      baseUnits(v),
			Unrealised: baseUnits(new(big.Int).Sub(v, c)),
			Realised:   baseUnits(big.NewInt(p.Realised)),
			Fills:      p.Fills,
		})
	}
	unrealised := new(big.Int).Sub(value, cost)
	s.Cost, s.Value = baseUnits(cost), baseUnits(value)
	s.Realised, s.Unrealised = baseUnits(realised), baseUnits(unrealised)
	s.PnL = baseUnits(new(big.Int).Add(realised, unrealised))
	if s.Positions == nil {
		s.Positions = []Position{}
	}
	if s.MalformedLines == nil {
		s.MalformedLines = []Problem{}
	}
	return nil
}

// sorted lists reasons most frequent first, then by key.
func sorted(m map[string]*Reason) []Reason {
	out := make([]Reason, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// baseUnits turns base units into an exact decimal of USDC or shares.
func baseUnits(v *big.Int) decimal.Decimal { return decimal.NewFromBigInt(v, -6) }

// WriteTable writes the summary as aligned text tables: the counts, the open positions marked
// at their last prices, and the P&L.
func WriteTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label string, n int, note string) { fmt.Fprintf(tw, "%s\t%8d  %s\n", label, n, note) }
	span := "no leader fills"
	if s.LeaderFills > 0 {
		span = fmt.Sprintf("blocks %d to %d", s.FirstBlock, s.LastBlock)
		if !s.FirstTime.IsZero() {
			span += fmt.Sprintf(" (%s to %s UTC)", s.FirstTime.Format(time.DateTime), s.LastTime.Format(time.DateTime))
		}
	}
	fmt.Fprintf(tw, "replay of %s: %s, paper broker\n", s.File, span)
	row("lines read", s.Lines, "")
	row("logs", s.Logs, "")
	row("  leader fills", s.LeaderFills, "OrderFilled from chain.exchanges with an enabled leader as maker")
	row("    copied", s.Copied, "")
	row("    reduced", s.Reduced, "copied smaller, to stay within a limit")
	for _, r := range s.Reduces {
		row("      "+r.Key, r.Count, "e.g. "+r.Example)
	}
	row("    skipped", s.Skipped, "")
	for _, r := range s.Skips {
		note := ""
		if r.Example != r.Key {
			note = "e.g. " + r.Example
		}
		row("      "+r.Key, r.Count, note)
	}
	if s.Failed > 0 {
		row("    failed", s.Failed, "the state store failed; see the log")
	}
	row("  duplicate leader fills", s.Duplicates, "same transaction and log index as an earlier one")
	row("  removed", s.Removed, `"removed": true (reverted by a reorg)`)
	row("  fills of other makers", s.OtherMakers, "last prices only")
	row("  fills of disabled leaders", s.Disabled, "leaders[].enabled: false")
	row("  fills on other exchanges", s.OtherExchanges, "address not in chain.exchanges")
	row("  other events", s.OtherEvents, "not OrderFilled")
	row("  malformed logs", s.MalformedLogs, "")
	row("malformed", s.Malformed, "lines and logs that could not be read; skipped")
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range s.MalformedLines {
		fmt.Fprintf(w, "  line %d: %s\n", p.Line, p.Error)
	}
	if n := s.Malformed - len(s.MalformedLines); n > 0 {
		fmt.Fprintf(w, "  and %d more\n", n)
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TOKEN\tSHARES\tCOST USDC\tLAST PRICE\tVALUE USDC\tUNREALISED USDC\tREALISED USDC\tFILLS\t")
	for _, p := range s.Positions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", short(p.Token), p.Shares, p.Cost, p.LastPrice, p.Value,
			p.Unrealised, p.Realised, p.Fills)
	}
	fmt.Fprintf(tw, "%d open\t\t%s\t\t%s\t%s\t\t\t\n", len(s.Positions), s.Cost, s.Value, s.Unrealised)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-20s %14s  %s\n", "realised P&L USDC", s.Realised, fmt.Sprintf("(copied SELLs; %d positions closed)", s.ClosedPositions))
	fmt.Fprintf(w, "%-20s %14s  %s\n", "unrealised P&L USDC", s.Unrealised, "(open positions at their last prices)")
	fmt.Fprintf(w, "%-20s %14s\n", "total P&L USDC", s.PnL)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Each fill was decided at its block's time, as if seen live: copy.max_fill_age skipped none.")
	fmt.Fprintln(w, "Copies fill in full at the leader's price (paper broker); a token's last price is that of its last OrderFilled log.")
	if s.Untimed > 0 {
		fmt.Fprintf(w, "Leader fills without a blockTimestamp: %d, each decided at the latest block time read before it (or the replay's start).\n", s.Untimed)
	}
	return nil
}

// short abbreviates a 77-digit token id to its first and last 6 digits, as `polybot positions` does.
func short(token string) string {
	if len(token) <= 16 {
		return token
	}
	return token[:6] + "..." + token[len(token)-6:]
}
