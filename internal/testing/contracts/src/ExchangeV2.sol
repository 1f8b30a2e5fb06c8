// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ExchangeV2: polysim's stand-in for Polymarket's CTF Exchange V2 and NegRisk CTF
/// Exchange V2 as polybot sees a settlement on chain: a transaction to the exchange whose input
/// is a matchOrders(conditionId, takerOrder, makerOrders, takerFillAmount, makerFillAmounts,
/// takerFeeAmount, makerFeeAmounts) call (the V2 ABI of clob-client-v2,
/// src/order-utils/abi/ExchangeV2.ts) and whose logs are the match's OrderFilled and
/// OrdersMatched (polymarket.md 3b).
/// @notice Written for polysim. It keeps no order book, checks no signature and moves no token:
/// polysim computes the logs a real match emits and appends them to the call, after the ABI
/// encoding of the arguments (an ABI decoder reads the arguments and ignores what follows, as
/// Solidity's does). The input is
///     selector ‖ abi.encode(arguments) ‖ records ‖ uint256(offset of the records)
/// and a record is uint256(topic count n ≤ 4) ‖ uint256(data length L) ‖ n topics ‖ L data
/// bytes. The contract emits one log per record, in order, from the exchange's address.
contract ExchangeV2 {
    fallback() external {
        assembly {
            if lt(calldatasize(), 36) { revert(0, 0) }
            let end := sub(calldatasize(), 32)
            let p := calldataload(end)
            if gt(p, end) { revert(0, 0) }
            for {} lt(p, end) {} {
                let n := calldataload(p)
                let l := calldataload(add(p, 32))
                let t := add(p, 64)
                if gt(n, 4) { revert(0, 0) }
                let d := add(t, shl(5, n))
                if gt(add(d, l), end) { revert(0, 0) }
                calldatacopy(0, d, l)
                switch n
                case 0 { log0(0, l) }
                case 1 { log1(0, l, calldataload(t)) }
                case 2 { log2(0, l, calldataload(t), calldataload(add(t, 32))) }
                case 3 { log3(0, l, calldataload(t), calldataload(add(t, 32)), calldataload(add(t, 64))) }
                default { log4(0, l, calldataload(t), calldataload(add(t, 32)), calldataload(add(t, 64)), calldataload(add(t, 96))) }
                p := add(d, l)
            }
        }
    }
}
