package polymarket

import "testing"

// The payout events' topics are the ones testdata/polymarket-vectors.json lists (event_topic0:
// topic0_ctf_PayoutRedemption, topic0_neg_risk_adapter_PayoutRedemption, topic0_erc20_Transfer):
// a wrong signature string would make every redemption look unpaid.
func TestPayoutEventTopicsMatchTheVectors(t *testing.T) {
	for name, c := range map[string]struct{ got, want string }{
		"CTF PayoutRedemption":            {PayoutRedemptionTopic.Hex(), "0x2682012a4a4f1973119f1c9b90745d1bd91fa2bab387344f044cb3586864d18d"},
		"NegRiskAdapter PayoutRedemption": {NegRiskPayoutRedemptionTopic.Hex(), "0x9140a6a270ef945260c03894b3c6b3b2695e9d5101feef0ff24fec960cfd3224"},
		"ERC-20 Transfer":                 {TransferTopic.Hex(), "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
	} {
		if c.got != c.want {
			t.Errorf("%s topic %s, want %s", name, c.got, c.want)
		}
	}
}
