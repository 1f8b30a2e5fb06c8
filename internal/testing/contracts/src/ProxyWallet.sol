// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice One call a Polymarket proxy wallet makes: ProxyWalletLib.ProxyCall, whose typeCode is
/// the CallType enum (0 INVALID, 1 CALL, 2 DELEGATECALL), an uint8 in the ABI.
struct ProxyCall {
    uint8 typeCode;
    address to;
    uint256 value;
    bytes data;
}

/// @title ProxyWalletFactory: polysim's stand-in for Polymarket's proxy wallet factory
/// (0xaB45c5A4B0c941a2F231C04C3f49182e1A254052 on Polygon), through which the owner of a
/// signature-type-1 (email/Magic) account moves what its proxy wallet holds.
/// @notice Source: Polymarket/proxy-factories packages/proxy-factory/contracts/ProxyWallet/
/// ProxyWalletFactory.sol (proxy), ProxyWalletLib.sol (ProxyCall, deriveInstanceAddress).
/// Kept: proxy(ProxyCall[]) finds the caller's wallet at the CREATE2 address derived from
/// msg.sender alone (salt keccak256(abi.encodePacked(msg.sender)), the clone's init code hash)
/// and forwards the calls to it, so only the owner's own transaction reaches its wallet.
/// Left out: the GSN relaying (_msgSender is msg.sender here), and creating a wallet on first
/// use: polysim places the wallet's code at its address in the genesis allocation, and a call
/// for an owner without one reverts. The init code hash is the one of the real factory's clones
/// (Polymarket/magic-proxy-builder-example constants/proxyWallet.ts), so the address is
/// Polygon's when this code sits at the real factory's address.
contract ProxyWalletFactory {
    bytes32 internal constant PROXY_INIT_CODE_HASH = 0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b;

    function walletOf(address owner) public view returns (address) {
        bytes32 salt = keccak256(abi.encodePacked(owner));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, PROXY_INIT_CODE_HASH)))));
    }

    function proxy(ProxyCall[] calldata calls) external payable returns (bytes[] memory returnValues) {
        address wallet = walletOf(msg.sender);
        require(wallet.code.length > 0, "polysim: no proxy wallet placed for the caller");
        return ProxyWallet(payable(wallet)).proxy{value: msg.value}(calls);
    }
}

/// @title ProxyWallet: polysim's stand-in for a Polymarket proxy wallet (the clone at each
/// owner's CREATE2 address), the maker and funder of a signature-type-1 account.
/// @notice Source: Polymarket/proxy-factories packages/proxy-factory/contracts/ProxyWallet/
/// ProxyWallet.sol and ProxyWalletLib.sol. Kept: the owner is read from storage slot
/// ProxyWalletLib._OWNER_SLOT (the literal; its comment's keccak256("owner") is not that value)
/// and is the factory that created the wallet (initialize runs from the
/// factory), so only the factory may call proxy ("must be called be owner"); each call runs as a
/// CALL (typeCode 1) or DELEGATECALL (2) from the wallet's address, and one failed call reverts
/// them all with its revert data; the wallet accepts ERC-1155 transfers. polysim sets the owner
/// slot in the genesis allocation (there is no initialize).
contract ProxyWallet {
    bytes32 internal constant OWNER_SLOT = 0x734a2a5caf82146a5ddd5263d9af379f9f72724959f0567ddc9df2c40cf2cc20;

    function proxy(ProxyCall[] calldata calls) external payable returns (bytes[] memory returnValues) {
        address owner;
        bytes32 slot = OWNER_SLOT;
        assembly {
            owner := sload(slot)
        }
        require(owner == msg.sender, "must be called be owner");
        returnValues = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            bool success;
            bytes memory ret;
            if (calls[i].typeCode == 2) {
                (success, ret) = calls[i].to.delegatecall(calls[i].data);
            } else if (calls[i].typeCode == 1) {
                (success, ret) = calls[i].to.call{value: calls[i].value}(calls[i].data);
            }
            if (!success) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
            returnValues[i] = ret;
        }
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

    receive() external payable {}
}
