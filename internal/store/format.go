package store

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
)

// units formats base units as an exact decimal ("12.5").
func units(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }

func signedUnits(v int64) string { return decimal.NewFromInt(v).Shift(-6).String() }

// WriteDecisionsTable writes decisions as an aligned table, as `polybot decisions` shows
// them. Times are UTC.
func WriteDecisionsTable(w io.Writer, ds []Decision) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tLEADER\tTOKEN\tSIDE\tACTION\tSHARES\tUSDC\tLIMIT\tREASON\tTX\tON CHAIN")
	for _, d := range ds {
		limit := d.Limit
		if limit == "" {
			limit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%d\t%s\n",
			d.Time.UTC().Format(time.DateTime), d.Leader.Hex(), short(d.Token), d.Side, d.Action,
			units(d.Shares), units(d.Collateral), limit, d.Reason, d.Tx.Hex(), d.LogIndex, onChain(d.Chain))
	}
	return tw.Flush()
}

// WritePositionsTable writes positions as an aligned table, as `polybot positions` shows
// them, with a total line. Average price is cost per share; mark is the last fill's price. A
// position of fewer than minShares (copy.min_order_shares; 0: none) is marked DUST: no partial
// copy can sell it, and it is sold whole when its leader exits.
func WritePositionsTable(w io.Writer, ps []Position, minShares uint64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TOKEN\tSHARES\tCOST USDC\tAVG PRICE\tLAST PRICE\tREALISED USDC\tFILLS\tUPDATED (UTC)\tNOTE\t")
	var cost uint64
	var realised int64
	dust := 0
	for _, p := range ps {
		avg := "-"
		if p.Shares > 0 {
			avg = decimal.NewFromUint64(p.Cost).DivRound(decimal.NewFromUint64(p.Shares), 6).String()
		}
		note := ""
		if p.Shares > 0 && p.Shares < minShares {
			note = "DUST"
			dust++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", short(p.Token), units(p.Shares), units(p.Cost), avg,
			units(p.LastPrice), signedUnits(p.Realised), p.Fills, p.UpdatedAt.UTC().Format(time.DateTime), note)
		cost = addSat(cost, p.Cost)
		realised = addSigned(realised, p.Realised)
	}
	fmt.Fprintf(tw, "%d positions\t\t%s\t\t\t%s\t\t\t\t\n", len(ps), units(cost), signedUnits(realised))
	if err := tw.Flush(); err != nil {
		return err
	}
	if dust > 0 {
		_, err := fmt.Fprintf(w, "DUST: %d positions below the minimum order of %s shares; each is sold whole when its leader exits, as a market order (FAK/FOK)\n",
			dust, units(minShares))
		return err
	}
	return nil
}

// short abbreviates a 77-digit token id to its first and last 6 digits.
func short(token string) string {
	if len(token) <= 16 {
		return token
	}
	return token[:6] + "..." + token[len(token)-6:]
}

// onChain describes a copy's confirmation on chain for the decisions table: the block and
// transaction, the shares and USDC filled, and what the CLOB said when it differed; "-"
// before the chain was read.
func onChain(c *OnChain) string {
	if c == nil {
		return "-"
	}
	s := fmt.Sprintf("block %d tx %s: %s shares for %s USDC", c.Block, c.Tx.Hex(), units(c.Shares), units(c.Collateral))
	if c.CLOB != nil {
		s += fmt.Sprintf(" (corrected; the CLOB said %s for %s)", units(c.CLOB.FilledShares), units(c.CLOB.FilledCollateral))
	}
	return s
}
