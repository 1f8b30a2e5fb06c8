package config

// GeoblockNone as live.geoblock_url turns the geoblock check off.
const GeoblockNone = "none"

// DefaultGeoblockURL is Polymarket's geoblock endpoint, on polymarket.com rather than the CLOB
// (docs.polymarket.com/api-reference/geoblock).
const DefaultGeoblockURL = "https://polymarket.com/api/geoblock"

// GeoblockEndpoint is the geoblock endpoint to check, "" for none: live.geoblock_url when it is
// a URL; Polymarket's when it is "" and live.clob_url is Polymarket's CLOB (another CLOB, such
// as a test double, has no known endpoint); none for "none".
func (l Live) GeoblockEndpoint() string {
	switch l.GeoblockURL {
	case GeoblockNone:
		return ""
	case "":
		if l.ClobURL == DefaultClobURL {
			return DefaultGeoblockURL
		}
		return ""
	}
	return l.GeoblockURL
}
