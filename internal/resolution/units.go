package resolution

import "github.com/shopspring/decimal"

func units(v uint64) string      { return decimal.NewFromUint64(v).Shift(-6).String() }
func signedUnits(v int64) string { return decimal.NewFromInt(v).Shift(-6).String() }
