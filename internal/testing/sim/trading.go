package sim

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/chainlog"
)

// Unit is one share or one pUSD in base units (6 decimals).
const Unit = 1_000_000

// Lot is the smallest size the random fills trade: 0.01 share. With prices on a 0.01 tick, the
// collateral of any number of lots is exact.
const Lot = 10_000

// Match is one exchange match in which a leader's order is filled. EmitMatch turns it into the
// logs a V2 exchange's matchOrders emits, in one transaction:
//
//   - with Makers (the leader took resting orders): one OrderFilled per maker order (maker = that
//     maker, taker = the leader), then the leader's OrderFilled (maker = leader, taker = the
//     exchange), then OrdersMatched for the leader's order;
//   - without Makers (the leader's order was resting): the leader's OrderFilled (maker = leader,
//     taker = Taker), then the taker's OrderFilled (taker = the exchange), then OrdersMatched for
//     the taker's order.
//
// Every order fills at Price; the counterparties take the opposite side.
type Match struct {
	// Exchange emits the logs. Zero means the exchange polysim assigned to TokenID.
	Exchange common.Address
	Leader   common.Address
	// OrderHash is the leader's order hash; zero means a random one.
	OrderHash common.Hash
	Side      polymarket.Side // the leader's side
	TokenID   *big.Int
	// Shares is the leader's fill in base units (Unit = one share).
	Shares uint64
	// Price is collateral per share in base units (Unit = 1.0), strictly between 0 and Unit.
	// Shares×Price/Unit is the collateral and must be a whole number of base units.
	Price uint64
	// Fee is the leader's fee in collateral base units.
	Fee uint64
	// Makers are the resting orders the leader took; their Shares must add up to Shares.
	Makers []MakerOrder
	// Taker is the match's taker when Makers is empty; zero means a random address.
	Taker common.Address
	// Parts, when Makers is empty, fills the leader's (maker) order in these parts within the
	// one transaction, one OrderFilled log each, in this order; they add up to Shares and the
	// fee goes with the first. Polymarket's exchange takes a list of maker orders in one
	// matchOrders call (ctf-exchange src/exchange/mixins/Trading.sol, _matchOrders(takerOrder,
	// Order[] makerOrders, ...)) and keeps each order's remaining amount across fills
	// (orderStatus), with no rule that the listed orders differ: one order can be filled twice in
	// one transaction.
	Parts []uint64
}

// MakerOrder is a counterparty's resting order filled by a leader's taker order.
type MakerOrder struct {
	Maker  common.Address
	Shares uint64 // base units
}

// Collateral is Shares×Price in base units, and whether it is exact and fits 64 bits.
func (m *Match) Collateral() (uint64, bool) { return collateral(m.Shares, m.Price) }

func collateral(shares, price uint64) (uint64, bool) {
	hi, lo := bits.Mul64(shares, price)
	if hi >= Unit { // the quotient would not fit 64 bits
		return 0, false
	}
	q, r := bits.Div64(hi, lo, Unit)
	return q, r == 0
}

// EmitMatch sends the transaction that emits m's logs and returns its hash. The logs appear in
// the next block (Commit, or the block loop of Run); until then at most 500 calls can wait, and
// more fail with ErrBacklog. A SELL larger than the leader's holding is
// allowed here, so tests can emit any fill; the holding just drops to zero.
func (s *Sim) EmitMatch(m Match) (common.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return common.Hash{}, ErrClosed
	}
	return s.emit(m)
}

// EmitRandomFill emits one random leader fill, as Run does at Rate, and returns the match and its
// transaction hash. A leader never sells more than polysim has seen it buy.
func (s *Sim) EmitRandomFill() (Match, common.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Match{}, common.Hash{}, ErrClosed
	}
	m := s.randomMatch()
	tx, err := s.emit(m)
	return m, tx, err
}

// randomMatch draws a random fill from s.rng. s.mu must be held.
func (s *Sim) randomMatch() Match {
	leader := s.leaders[s.rng.IntN(len(s.leaders))]
	token := s.markets[s.rng.IntN(len(s.markets))]
	if len(s.resolved) > 0 && len(s.resolved) < len(s.markets) {
		// Resolved markets no longer trade.
		var open []*big.Int
		for _, m := range s.markets {
			if !s.resolved[m.String()] {
				open = append(open, m)
			}
		}
		token = open[s.rng.IntN(len(open))]
	}
	m := Match{Leader: leader, TokenID: new(big.Int).Set(token), Side: polymarket.Buy}

	lots := 200 + s.rng.Uint64N(30_000) // 2.00 to 301.99 shares
	if held := s.holdings[holding{leader, token.String()}] / Lot; held > 0 && s.rng.IntN(2) == 0 {
		m.Side = polymarket.Sell
		if s.rng.IntN(4) == 0 {
			lots = held // close the position
		} else {
			lots = 1 + s.rng.Uint64N(held)
		}
	}
	m.Shares = lots * Lot
	m.Price = s.walkPrice(token.String(), s.rng.Uint64N(5))

	if s.rng.IntN(2) == 0 {
		// The leader takes 1 to 3 resting orders; each gets at least one lot.
		k := min(uint64(1+s.rng.IntN(3)), lots)
		rest := lots - k
		for i := range k {
			part := uint64(1)
			if i == k-1 {
				part += rest
			} else {
				x := s.rng.Uint64N(rest + 1)
				part += x
				rest -= x
			}
			m.Makers = append(m.Makers, MakerOrder{Maker: s.randomAddress(), Shares: part * Lot})
		}
	}
	return m
}

// walkPrice moves a market's price by step-2 cents (step is 0 to 4) from its last trade and
// returns it: prices wander as a real market's do, instead of jumping anywhere between 0.05 and
// 0.95 at every trade, which made every copied position swing by half its cost and tripped a
// follower's daily-loss breaker within a minute. A market's first price is 0.20 to 0.80, derived
// from its token id so the draw costs the random source nothing. Prices stay within 0.05–0.95.
// s.mu must be held.
func (s *Sim) walkPrice(token string, step uint64) uint64 {
	const cent = Unit / 100
	p, ok := s.prices[token]
	if !ok {
		var h uint64
		seed := token
		if t, ok := new(big.Int).SetString(token, 10); ok {
			seed = marketOfToken(t).priceSeed
		}
		for _, c := range seed {
			h = h*31 + uint64(c)
		}
		p = (20 + h%61) * cent
	}
	p += step * cent
	p = min(max(p, 7*cent), 97*cent) - 2*cent
	s.prices[token] = p
	return p
}

func (s *Sim) randomHash() common.Hash {
	var h common.Hash
	for i := 0; i < len(h); i += 8 {
		binary.BigEndian.PutUint64(h[i:], s.rng.Uint64())
	}
	return h
}

func (s *Sim) randomAddress() common.Address {
	return common.BytesToAddress(s.randomHash().Bytes())
}

// emit validates m, sends its emitter call and books the leader's holding. s.mu must be held.
func (s *Sim) emit(m Match) (common.Hash, error) {
	bad := func(format string, args ...any) (common.Hash, error) {
		return common.Hash{}, fmt.Errorf("%w: "+format, append([]any{ErrBadMatch}, args...)...)
	}
	if m.Leader == (common.Address{}) {
		return bad("leader is the zero address")
	}
	if m.TokenID == nil || m.TokenID.Sign() <= 0 || m.TokenID.BitLen() > 256 {
		return bad("token id %v is not a positive 256-bit number", m.TokenID)
	}
	if m.Side != polymarket.Buy && m.Side != polymarket.Sell {
		return bad("side %v is neither BUY nor SELL", m.Side)
	}
	if m.Shares == 0 || m.Price == 0 || m.Price >= Unit {
		return bad("shares %d must be positive and price %d between 1 and %d", m.Shares, m.Price, Unit-1)
	}
	coll, ok := m.Collateral()
	if !ok {
		return bad("%d shares × price %d is not a whole number of collateral base units", m.Shares, m.Price)
	}
	if m.Exchange == (common.Address{}) {
		m.Exchange = s.ExchangeFor(m.TokenID)
	}
	if !s.emitters[m.Exchange] {
		return bad("exchange %v has no emitter; polysim's exchanges are %v and %v", m.Exchange, s.opts.Exchanges, polymarket.CurrentExchanges())
	}
	if m.OrderHash == (common.Hash{}) {
		m.OrderHash = s.randomHash()
	}
	opposite := polymarket.Sell
	if m.Side == polymarket.Sell {
		opposite = polymarket.Buy
	}
	// The logs are built by the ABI encoder from the official event declarations (package
	// chainlog), never by polybot's own code; the leader's fill is recorded as ground truth here,
	// before it is encoded.
	fill := func(hash common.Hash, maker, taker common.Address, side polymarket.Side, shares, coll, fee uint64) record {
		topics, data := chainlog.Trade{OrderHash: hash, Maker: maker, Taker: taker, Sell: side == polymarket.Sell,
			TokenID: m.TokenID, Shares: shares, Collateral: coll, Fee: fee}.V2()
		return record{topics, data}
	}
	truth := polymarket.Fill{Exchange: m.Exchange, Version: polymarket.V2, OrderHash: m.OrderHash, Maker: m.Leader,
		Side: m.Side, TokenID: new(big.Int).Set(m.TokenID), Shares: m.Shares, Collateral: coll, Fee: m.Fee}

	var recs []record
	var taker matchOrder    // the match's taker order, for the matchOrders call
	var makers []matchOrder // and its maker orders
	leaderLog := 0
	var extra []int                  // the leader's further fills of the same order (Parts)
	var extraTruth []polymarket.Fill // and their ground truth
	if len(m.Parts) > 0 && len(m.Makers) > 0 {
		return bad("parts need the leader's order to be the maker: no Makers")
	}
	if len(m.Makers) > 0 {
		var sum uint64
		for _, mk := range m.Makers {
			mkColl, ok := collateral(mk.Shares, m.Price)
			if mk.Maker == (common.Address{}) || mk.Shares == 0 || !ok {
				return bad("maker order %v of %d shares: needs an address and a positive size with exact collateral", mk.Maker, mk.Shares)
			}
			sum += mk.Shares
			if sum < mk.Shares {
				return bad("maker shares overflow")
			}
			h := s.randomHash()
			recs = append(recs, fill(h, mk.Maker, m.Leader, opposite, mk.Shares, mkColl, 0))
			makers = append(makers, matchOrder{hash: h, maker: mk.Maker, sell: opposite == polymarket.Sell, shares: mk.Shares, collateral: mkColl})
		}
		if sum != m.Shares {
			return bad("maker orders fill %d shares, the leader %d", sum, m.Shares)
		}
		leaderLog = len(recs)
		truth.Taker = m.Exchange
		taker = matchOrder{hash: m.OrderHash, maker: m.Leader, sell: m.Side == polymarket.Sell, shares: m.Shares, collateral: coll, fee: m.Fee}
		recs = append(recs,
			fill(m.OrderHash, m.Leader, m.Exchange, m.Side, m.Shares, coll, m.Fee),
			ordersMatched(m.OrderHash, m.Leader, m.Side, m.TokenID, m.Shares, coll))
	} else {
		if m.Taker == (common.Address{}) {
			m.Taker = s.randomAddress()
		}
		if m.Taker == m.Leader || m.Taker == m.Exchange {
			return bad("taker %v must differ from the leader and the exchange", m.Taker)
		}
		takerHash := s.randomHash()
		truth.Taker = m.Taker
		parts := m.Parts
		if len(parts) == 0 {
			parts = []uint64{m.Shares}
		}
		var sum uint64
		for i, p := range parts {
			pColl, ok := collateral(p, m.Price)
			if p == 0 || !ok {
				return bad("part %d of %d shares: needs a positive size with exact collateral", i, p)
			}
			sum += p
			if sum < p {
				return bad("parts overflow")
			}
			fee := uint64(0)
			if i == 0 {
				fee = m.Fee
			}
			pt := truth
			pt.Shares, pt.Collateral, pt.Fee = p, pColl, fee
			if i == 0 {
				truth = pt
			} else {
				extra = append(extra, len(recs))
				extraTruth = append(extraTruth, pt)
			}
			recs = append(recs, fill(m.OrderHash, m.Leader, m.Taker, m.Side, p, pColl, fee))
			makers = append(makers, matchOrder{hash: m.OrderHash, maker: m.Leader, sell: m.Side == polymarket.Sell, shares: p, collateral: pColl, fee: fee})
		}
		if sum != m.Shares {
			return bad("parts fill %d shares, the match %d", sum, m.Shares)
		}
		taker = matchOrder{hash: takerHash, maker: m.Taker, sell: opposite == polymarket.Sell, shares: m.Shares, collateral: coll}
		recs = append(recs,
			fill(takerHash, m.Taker, m.Exchange, opposite, m.Shares, coll, 0),
			ordersMatched(takerHash, m.Taker, opposite, m.TokenID, m.Shares, coll))
	}

	call, err := matchCall(m.TokenID, taker, makers)
	if err != nil {
		return common.Hash{}, fmt.Errorf("encode matchOrders: %w", err)
	}
	tx, err := s.sendMatch(m.Exchange, call, recs)
	if err != nil {
		return common.Hash{}, err
	}
	s.pending = append(s.pending, pendingTx{hash: tx.Hash(), leader: m.Leader, leaderLog: leaderLog, fill: truth})
	for j, i := range extra {
		s.pending = append(s.pending, pendingTx{hash: tx.Hash(), leader: m.Leader, leaderLog: i, fill: extraTruth[j]})
	}
	key := holding{m.Leader, m.TokenID.String()}
	if m.Side == polymarket.Buy {
		s.holdings[key] += m.Shares
	} else {
		s.holdings[key] -= min(m.Shares, s.holdings[key])
	}
	return tx.Hash(), nil
}

// ordersMatched builds the V2 OrdersMatched log of a match whose taker order is hash (maker,
// side), with the ABI encoder.
func ordersMatched(hash common.Hash, maker common.Address, side polymarket.Side, token *big.Int, shares, coll uint64) record {
	topics, data := chainlog.Trade{OrderHash: hash, Maker: maker, Sell: side == polymarket.Sell, TokenID: token,
		Shares: shares, Collateral: coll}.MatchedV2()
	return record{topics: topics, data: data}
}

// send signs an emitter call from the funded sender and queues it for the next Commit. s.mu must
// be held.
func (s *Sim) send(to common.Address, recs []record) (*types.Transaction, error) {
	return s.sendData(to, encodeRecords(recs), recs)
}

// sendData signs a call of to with data, which emits recs, and queues it. s.mu must be held.
func (s *Sim) sendData(to common.Address, data []byte, recs []record) (*types.Transaction, error) {
	if len(s.unsent) >= maxCallsPerBlock {
		return nil, ErrBacklog
	}
	tip := big.NewInt(params.GWei)
	// Twice the head's base fee covers the next block's base fee, which rises by 12.5% at most.
	feeCap := new(big.Int).Add(new(big.Int).Lsh(s.backend.BlockChain().CurrentBlock().BaseFee, 1), tip)
	tx, err := types.SignNewTx(s.key, s.signer, &types.DynamicFeeTx{
		ChainID:   s.chainID,
		Nonce:     s.nonce,
		GasTipCap: tip,
		GasFeeCap: feeCap,
		Gas:       emitGas(recs, len(data)),
		To:        &to,
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("sign emitter call: %w", err)
	}
	s.nonce++
	s.unsent = append(s.unsent, tx)
	return tx, nil
}
