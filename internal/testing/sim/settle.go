package sim

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// This file puts the trades the fake CLOB matches on polysim's chain: each becomes one
// transaction of the market's exchange whose logs are what the V2 exchange's matchOrders
// emits (polymarket.md 3b, which follows 3a): one OrderFilled per maker order with taker = the
// taker order's maker, then the taker order's OrderFilled with taker = the exchange, then
// OrdersMatched. So polybot's own fills are on the chain as on Polygon, where polybot reads them.
//
// The logs are encoded with go-ethereum's abi package from the events' signatures as the
// exchange declares them (polymarket.md 2; clob-client-v2's ExchangeV2 ABI), not with polybot's
// own encoder, which they check.

// exchangeV2Events are the V2 exchange events the settlement emits.
const exchangeV2Events = `[
 {"type":"event","name":"OrderFilled","anonymous":false,"inputs":[
  {"name":"orderHash","type":"bytes32","indexed":true},
  {"name":"maker","type":"address","indexed":true},
  {"name":"taker","type":"address","indexed":true},
  {"name":"side","type":"uint8","indexed":false},
  {"name":"tokenId","type":"uint256","indexed":false},
  {"name":"makerAmountFilled","type":"uint256","indexed":false},
  {"name":"takerAmountFilled","type":"uint256","indexed":false},
  {"name":"fee","type":"uint256","indexed":false},
  {"name":"builder","type":"bytes32","indexed":false},
  {"name":"metadata","type":"bytes32","indexed":false}]},
 {"type":"event","name":"OrdersMatched","anonymous":false,"inputs":[
  {"name":"takerOrderHash","type":"bytes32","indexed":true},
  {"name":"takerOrderMaker","type":"address","indexed":true},
  {"name":"side","type":"uint8","indexed":false},
  {"name":"tokenId","type":"uint256","indexed":false},
  {"name":"makerAmountFilled","type":"uint256","indexed":false},
  {"name":"takerAmountFilled","type":"uint256","indexed":false}]}
]`

var exchangeV2ABI = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(exchangeV2Events))
	if err != nil {
		panic(err) // a constant
	}
	return a
}()

// amounts are an order's makerAmountFilled and takerAmountFilled: a BUY gives collateral for
// shares, a SELL shares for collateral.
func amounts(o *clobsim.SettledOrder) (making, taking *big.Int) {
	if o.Side == order.Buy {
		return big.NewInt(o.Collateral), big.NewInt(o.Shares)
	}
	return big.NewInt(o.Shares), big.NewInt(o.Collateral)
}

// orderFilledLog builds o's OrderFilled log against taker.
func orderFilledLog(o *clobsim.SettledOrder, taker common.Address, token *big.Int) (record, error) {
	ev := exchangeV2ABI.Events["OrderFilled"]
	making, taking := amounts(o)
	data, err := ev.Inputs.NonIndexed().Pack(uint8(o.Side), token, making, taking, big.NewInt(o.Fee), [32]byte{}, [32]byte{})
	if err != nil {
		return record{}, fmt.Errorf("pack OrderFilled: %w", err)
	}
	return record{topics: []common.Hash{ev.ID, o.Hash, common.BytesToHash(o.Maker.Bytes()), common.BytesToHash(taker.Bytes())}, data: data}, nil
}

// ordersMatchedLog builds the taker order's OrdersMatched log.
func ordersMatchedLog(o *clobsim.SettledOrder, token *big.Int) (record, error) {
	ev := exchangeV2ABI.Events["OrdersMatched"]
	making, taking := amounts(o)
	data, err := ev.Inputs.NonIndexed().Pack(uint8(o.Side), token, making, taking)
	if err != nil {
		return record{}, fmt.Errorf("pack OrdersMatched: %w", err)
	}
	return record{topics: []common.Hash{ev.ID, o.Hash, common.BytesToHash(o.Maker.Bytes())}, data: data}, nil
}

// Settle puts a trade the fake CLOB matched on the chain: its transaction is mined with the
// next block. A fill of a resting order by a counterparty outside the CLOB gets a made-up
// counterparty taker order. It implements clobsim.Settler.
func (c *CLOB) Settle(st clobsim.Settlement) (common.Hash, error) {
	s := c.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return common.Hash{}, ErrClosed
	}
	if !s.emitters[st.Exchange] {
		return common.Hash{}, fmt.Errorf("settle: exchange %v has no emitter", st.Exchange)
	}
	taker := st.Taker
	if taker == nil { // a counterparty outside the CLOB took the resting orders
		t := clobsim.SettledOrder{Hash: s.randomHash(), Maker: s.randomAddress(), Side: order.Buy}
		for _, m := range st.Makers {
			t.Side = 1 - m.Side
			t.Shares += m.Shares
			t.Collateral += m.Collateral
		}
		taker = &t
	}
	var recs []record
	for i := range st.Makers {
		r, err := orderFilledLog(&st.Makers[i], taker.Maker, st.TokenID)
		if err != nil {
			return common.Hash{}, err
		}
		recs = append(recs, r)
	}
	r, err := orderFilledLog(taker, st.Exchange, st.TokenID)
	if err != nil {
		return common.Hash{}, err
	}
	m, err := ordersMatchedLog(taker, st.TokenID)
	if err != nil {
		return common.Hash{}, err
	}
	recs = append(recs, r, m)
	settled := func(o *clobsim.SettledOrder) matchOrder {
		return matchOrder{hash: o.Hash, maker: o.Maker, sell: o.Side == order.Sell, shares: uint64(o.Shares),
			collateral: uint64(o.Collateral), fee: uint64(o.Fee)}
	}
	makers := make([]matchOrder, len(st.Makers))
	for i := range st.Makers {
		makers[i] = settled(&st.Makers[i])
	}
	call, err := matchCall(st.TokenID, settled(taker), makers)
	if err != nil {
		return common.Hash{}, fmt.Errorf("settle: encode matchOrders: %w", err)
	}
	if s.pay != nil {
		if err := c.approveAdapter(); err != nil {
			return common.Hash{}, err
		}
		// With the payout stand-ins, a BUY through the CLOB also credits the bought shares on the
		// CTF stand-in, so that the buyer can redeem them. SELLs take nothing back (the stand-in
		// keeps no exchange): a sold position stays redeemable on polysim's chain.
		buyers := st.Makers
		if st.Taker != nil {
			buyers = append(slices.Clone(buyers), *st.Taker)
		}
		for _, o := range buyers {
			if o.Side != order.Buy || o.Shares <= 0 {
				continue
			}
			if err := s.creditPosition(o.Maker, st.TokenID, 0, uint64(o.Shares)); err != nil {
				return common.Hash{}, err
			}
		}
	}
	var tx *types.Transaction
	if tx, err = s.sendMatch(st.Exchange, call, recs); err != nil {
		return common.Hash{}, err
	}
	c.settled.Add(1)
	return tx.Hash(), nil
}

// Settled counts the trades put on chain.
func (c *CLOB) Settled() uint64 { return c.settled.Load() }
