// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

interface ICTF {
    function getCollectionId(bytes32 parentCollectionId, bytes32 conditionId, uint256 indexSet)
        external
        pure
        returns (bytes32);
    function getPositionId(address collateralToken, bytes32 collectionId) external pure returns (uint256);
    function balanceOf(address owner, uint256 id) external view returns (uint256);
    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external;
    function redeemPositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] calldata indexSets)
        external;
}

interface IToken {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function mint(address to, uint256 amount) external;
}

/// @title CtfCollateralAdapter: polysim's stand-in for Polymarket's CtfCollateralAdapter
/// (0xADa100874d00e3331D00F2007a9c336a65009718 on Polygon), through which pUSD accounts redeem
/// a standard market's winnings in pUSD.
/// @notice Source: Polymarket/ctf-exchange-v2 src/adapters/CtfCollateralAdapter.sol (read from
/// the public fork Alatharee21/ctf-exchange-v2, commit 17e74eb) and src/collateral/CollateralToken.sol.
/// Kept: redeemPositions(address, bytes32, bytes32 conditionId, uint256[]) ignores its first,
/// second and fourth arguments, pulls the caller's whole balance of the condition's two USDC.e
/// positions (so the caller must have approved the adapter on the CTF with setApprovalForAll),
/// redeems them on the CTF for USDC.e with the partition [1, 2] (the CTF's PayoutRedemption names
/// the adapter as redeemer), and pays every USDC.e it got to the caller in pUSD, minted to the
/// caller (the real CollateralToken.wrap mints, so the proof is pUSD's Transfer from address 0 to
/// the caller). Pausing is kept (src/collateral/abstract/Pausable.sol: the admin pauses an asset
/// and redeemPositions then reverts with OnlyUnpaused()); the admin is a constructor argument,
/// the paused flags live in storage slot 0's mapping. Left out: the owner and role management,
/// split/merge, the Wrapped event and the vault (the USDC.e is sent to the pUSD token's address).
contract CtfCollateralAdapter {
    ICTF public immutable conditionalTokens;
    address public immutable collateralToken;
    address public immutable usdce;
    address public immutable admin;

    mapping(address => bool) public paused; // slot 0

    error OnlyUnpaused();
    error Unauthorized();

    event Paused(address indexed asset);
    event Unpaused(address indexed asset);

    constructor(address _conditionalTokens, address _collateralToken, address _usdce, address _admin) {
        conditionalTokens = ICTF(_conditionalTokens);
        collateralToken = _collateralToken;
        usdce = _usdce;
        admin = _admin;
    }

    function pause(address _asset) external {
        if (msg.sender != admin) revert Unauthorized();
        paused[_asset] = true;
        emit Paused(_asset);
    }

    function unpause(address _asset) external {
        if (msg.sender != admin) revert Unauthorized();
        paused[_asset] = false;
        emit Unpaused(_asset);
    }

    function redeemPositions(address, bytes32, bytes32 _conditionId, uint256[] calldata) external {
        if (paused[usdce]) revert OnlyUnpaused();
        uint256[] memory positionIds = new uint256[](2);
        uint256[] memory amounts = new uint256[](2);
        uint256[] memory partition = new uint256[](2);
        for (uint256 i = 0; i < 2; i++) {
            partition[i] = 1 << i;
            positionIds[i] =
                conditionalTokens.getPositionId(usdce, conditionalTokens.getCollectionId(bytes32(0), _conditionId, 1 << i));
            amounts[i] = conditionalTokens.balanceOf(msg.sender, positionIds[i]);
        }
        conditionalTokens.safeBatchTransferFrom(msg.sender, address(this), positionIds, amounts, "");
        conditionalTokens.redeemPositions(usdce, bytes32(0), _conditionId, partition);
        uint256 amount = IToken(usdce).balanceOf(address(this));
        require(IToken(usdce).transfer(collateralToken, amount), "USDC.e transfer failed");
        IToken(collateralToken).mint(msg.sender, amount);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }
}
