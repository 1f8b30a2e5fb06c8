// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title PositionIds: polysim's stand-in for the id views of the Conditional Tokens contract
/// (Gnosis ConditionalTokens at 0x4D97…6045 on Polygon): getConditionId, getCollectionId and
/// getPositionId, the ids every Polymarket outcome token is derived from.
/// @notice Written for polysim from CTHelpers.sol of gnosis/conditional-tokens-contracts
/// (commit 2cf0aee): the same formulas, with the square root mod P taken by the modexp
/// precompile (x^((P+1)/4), P ≡ 3 mod 4) instead of CTHelpers' addition chain for that power.
/// Only collections without a parent (parentCollectionId = 0) are kept: Polymarket's markets
/// have none. polysim derives its markets' outcome token ids with it, in the EVM.
contract PositionIds {
    uint256 constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 constant B = 3;

    function getConditionId(address oracle, bytes32 questionId, uint256 outcomeSlotCount) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(oracle, questionId, outcomeSlotCount));
    }

    function getCollectionId(bytes32 parentCollectionId, bytes32 conditionId, uint256 indexSet) external view returns (bytes32) {
        require(parentCollectionId == bytes32(0), "parent collections are not kept");
        uint256 x1 = uint256(keccak256(abi.encodePacked(conditionId, indexSet)));
        bool odd = x1 >> 255 != 0;
        uint256 y1;
        uint256 yy;
        do {
            x1 = addmod(x1, 1, P);
            yy = addmod(mulmod(x1, mulmod(x1, x1, P), P), B, P);
            y1 = sqrt(yy);
        } while (mulmod(y1, y1, P) != yy);
        if ((odd && y1 % 2 == 0) || (!odd && y1 % 2 == 1)) {
            y1 = P - y1;
        }
        if (y1 % 2 == 1) {
            x1 ^= 1 << 254;
        }
        return bytes32(x1);
    }

    function getPositionId(address collateralToken, bytes32 collectionId) external pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(collateralToken, collectionId)));
    }

    /// @dev x^((P+1)/4) mod P by the modexp precompile (EIP-198, address 5).
    function sqrt(uint256 x) private view returns (uint256) {
        (bool ok, bytes memory out) = address(5).staticcall(abi.encodePacked(uint256(32), uint256(32), uint256(32), x, (P + 1) / 4, P));
        require(ok, "modexp failed");
        return abi.decode(out, (uint256));
    }
}
