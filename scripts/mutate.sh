#!/usr/bin/env bash
# mutate.sh: a short mutation check of polybot's money paths. Each mutation plants a bug a user
# would pay for (a wrong fee, a worse price, an order sent before its intent is on disk, a wrong
# cost basis, a swapped V2 amount), runs the tests of the packages that matter (no -race, to stay
# fast), restores the file and reports which tests failed. A mutation counts as caught only when
# a test that does not share the mutated code with its fake fails: the "witnesses" listed with
# it (hand-worked vectors, clobsim's own fee code, the ABI-encoded logs, a recording broker).
#
#   scripts/mutate.sh            # all mutations, a markdown table on stdout
#   scripts/mutate.sh fee slip   # only those whose name starts with one of the words
#
# Exit status 1 if any mutation was not caught by a witness. The tree is restored on exit, also
# on Ctrl-C. Run it on a clean tree: a test failing before the mutation would count as a catch.
set -euo pipefail
cd "$(dirname "$0")/.."

backup=$(mktemp -d)
declare -a touched=()
restore() {
  local f
  for f in "${touched[@]}"; do
    cp "$backup/${f//\//_}" "$f"
  done
  touched=()
}
trap 'restore; rm -rf "$backup"' EXIT

# replace FILE FROM TO: replaces the one literal occurrence of FROM in FILE, or fails.
replace() {
  local file=$1
  if [[ ! -e "$backup/${file//\//_}" ]] || ! printf '%s\n' "${touched[@]}" | grep -qx -- "$file"; then
    cp "$file" "$backup/${file//\//_}"
    touched+=("$file")
  fi
  FROM=$2 TO=$3 perl -0777 -i -pe 's/\Q$ENV{FROM}\E/$ENV{TO}/ or die "mutate.sh: text to mutate not found in $ARGV\n"' "$file"
}

declare -a rows=()
missed=0
only=("$@")

# run NAME WHERE PACKAGES WITNESS-REGEX: the mutation is applied (by the caller); run the tests,
# restore, record a row.
run() {
  local name=$1 where=$2 pkgs=$3 witness=$4 out failed caught="no"
  if ((${#only[@]})); then
    local w keep=0
    for w in "${only[@]}"; do [[ $name == "$w"* ]] && keep=1; done
    if ((!keep)); then restore; return; fi
  fi
  echo "mutate.sh: $name: go test $pkgs" >&2
  # shellcheck disable=SC2086
  out=$(go test -count=1 -timeout 15m $pkgs 2>&1 || true)
  restore
  if grep -q '^# \|build failed\|\[setup failed\]' <<<"$out"; then
    failed="(does not build)"
  else
    failed=$(grep -oE -- '--- FAIL: [^ ]+' <<<"$out" | sed 's/--- FAIL: //' | sort -u | paste -sd' ' - || true)
  fi
  local hits=""
  if [[ -n $failed ]]; then
    hits=$(tr ' ' '\n' <<<"$failed" | grep -E "^($witness)$" | paste -sd' ' - || true)
  fi
  if [[ -n $hits ]]; then
    caught="yes"
  else
    missed=$((missed + 1))
  fi
  local n=0
  [[ -n $failed && $failed != "(does not build)" ]] && n=$(grep -cv / <<<"$(tr ' ' '\n' <<<"$failed")")
  echo "mutate.sh: $name: failed: ${failed:-none}" >&2
  rows+=("| $name | $where | $n | ${hits:-none} | $caught |")
}

# 1. The fee loses its (1 − p) factor: rate · C · p instead of rate · C · p · (1 − p).
replace internal/order/amounts.go 'new(big.Int).SetUint64(shares-collateral)' 'new(big.Int).SetUint64(shares)'
run "fee-factor" "order.TakerFee drops (1−p)" "./internal/order ./internal/broker" \
  "TestTakerFeeVectors|TestTakerFeesAreRecordedAsTheCLOBChargesThem"

# 2. A BUY's limit allows twice the configured slippage: a worse price than the user set.
replace internal/broker/broker.go '		num.Add(num, slipS)' '		num.Add(num, slipS)
		num.Add(num, slipS)'
run "slippage" "broker.LimitPrice BUY bound 2× slippage" "./internal/broker" \
  "TestLimitPriceRoundsInwardAndClamps|TestLimitPriceNeverExceedsTheBound|TestMarketBuySpendsCentsAndKeepsThePriceImprovement"

# 3. The intent is written after the order is sent: a crash in between sends a second order.
replace internal/executor/copy.go '	err := c.sdo("record intent", func() error { return c.e.store.Record(c.dec, in) })' '	var err error'
replace internal/executor/copy.go '	exec, err := c.e.broker.PlaceOrder(c.ctx, o)
	c.answered(err)' '	exec, err := c.e.broker.PlaceOrder(c.ctx, o)
	_ = c.e.store.Record(c.dec, in)
	c.answered(err)'
run "intent-before-send" "executor records the intent after PlaceOrder" "./internal/executor" \
  "TestTheIntentIsCommittedBeforeTheOrderIsSent"

# 4. A partial sale removes half the cost it should from the lot: a wrong cost basis and P&L.
replace internal/store/positions.go '		c := money.MulDiv(lot.Cost, take, lot.Shares)' '		c := money.MulDiv(lot.Cost, take, lot.Shares) / 2'
run "sell-from-lots" "store: a sale removes half its cost" "./internal/store" \
  "TestPositionsAreTheSumOfCompletedFills"

# 5. The V2 decoder swaps makerAmountFilled and takerAmountFilled of a BUY.
replace internal/polymarket/events.go '			f.Collateral, f.Shares = making, taking' '			f.Collateral, f.Shares = taking, making'
run "v2-swap" "polymarket.DecodeOrderFilled V2 BUY making↔taking" \
  "./internal/polymarket ./internal/testing/sim ./internal/monitor ./internal/replay" \
  "TestDecodeMatchesTheRawLogVectors|TestDecodeV1WorkedExample|TestExchangeV3LogDecodesAsV2|TestSubscriberReceivesExactlyTheLeadersFills|TestFastChainStreamsLeaderFills|TestRandomTradingIsRealistic"

echo
echo "| mutation | planted bug | top-level tests failed | witnesses that failed | caught |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if ((missed)); then
  echo "mutate.sh: $missed mutation(s) not caught by a witness" >&2
  exit 1
fi
