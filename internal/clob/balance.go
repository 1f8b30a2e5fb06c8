package clob

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// UpdateBalanceAllowance asks the CLOB to re-read the wallet's balance and allowance of an
// asset (GET /balance-allowance/update). The CLOB checks orders against a cached balance: after
// a fill, shares just bought cannot be sold, nor collateral just received spent, until this
// refresh. The arguments are those of BalanceAllowance.
func (c *Client) UpdateBalanceAllowance(ctx context.Context, assetType, tokenID string, sigType int) error {
	q := url.Values{"asset_type": {assetType}, "signature_type": {strconv.Itoa(sigType)}}
	switch assetType {
	case AssetCollateral:
		if tokenID != "" {
			return fmt.Errorf("clob: collateral balance takes no token id")
		}
	case AssetConditional, AssetConditionalV2:
		if err := checkTokenID(tokenID); err != nil {
			return err
		}
		q.Set("token_id", tokenID)
	default:
		return fmt.Errorf("clob: asset type %q (valid: %s, %s, %s)", assetType, AssetCollateral, AssetConditional, AssetConditionalV2)
	}
	if sigType < 0 || sigType > 3 {
		return fmt.Errorf("clob: signature type %d (valid: 0 to 3)", sigType)
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/balance-allowance/update", query: q, auth: authL2})
	return err
}
