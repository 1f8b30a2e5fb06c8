// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title GnosisSafe: polysim's stand-in for the 1-of-1 Gnosis Safe 1.3.0 that Polymarket's
/// browser-wallet accounts (signature type 2) hold their funds in.
/// @notice Source: safe-global/safe-contracts v1.3.0 contracts/GnosisSafe.sol (execTransaction,
/// encodeTransactionData, checkNSignatures) and common/SignatureDecoder.sol, the version
/// Polymarket/proxy-factories packages/safe-factory deploys (npm gnosis.pm safe-contracts ^1.3.0).
/// Kept: execTransaction hashes the SafeTx under the EIP-712 domain (chainId, this) with the
/// current nonce, increments the nonce, and accepts the owner's signature as the real Safe
/// does: v 27/28 an ECDSA signature of that hash, v > 30 an eth_sign of it (v - 4), v 1 an
/// "approved hash" whose r is the owner and which only the owner's own transaction may use
/// (msg.sender == owner); anything else reverts with the real codes (GS020, GS025, GS026). The
/// call runs from the Safe's address; with safeTxGas and gasPrice 0 a failed call reverts the
/// whole transaction (GS013), otherwise ExecutionFailure is emitted.
/// Left out: several owners and thresholds (one owner, threshold 1), contract signatures (v 0),
/// approveHash, gas refunds (gasPrice must be 0), modules, guards and the fallback handler (the
/// ERC-1155 receiver hooks are implemented here instead, as CompatibilityFallbackHandler
/// answers them for the real Safe). Storage, set by polysim's genesis allocation: slot 0 the
/// owner, slot 1 the nonce.
contract GnosisSafe {
    address internal owner; // slot 0
    uint256 public nonce; // slot 1

    // keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")
    bytes32 internal constant DOMAIN_SEPARATOR_TYPEHASH = 0x47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218;
    // keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")
    bytes32 internal constant SAFE_TX_TYPEHASH = 0xbb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8;

    event ExecutionFailure(bytes32 txHash, uint256 payment);
    event ExecutionSuccess(bytes32 txHash, uint256 payment);

    function getOwners() external view returns (address[] memory owners) {
        owners = new address[](1);
        owners[0] = owner;
    }

    function getThreshold() external pure returns (uint256) {
        return 1;
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_SEPARATOR_TYPEHASH, block.chainid, address(this)));
    }

    function encodeTransactionData(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address refundReceiver,
        uint256 _nonce
    ) public view returns (bytes memory) {
        bytes32 safeTxHash = keccak256(
            abi.encode(
                SAFE_TX_TYPEHASH, to, value, keccak256(data), operation, safeTxGas, baseGas, gasPrice, gasToken,
                refundReceiver, _nonce
            )
        );
        return abi.encodePacked(bytes1(0x19), bytes1(0x01), domainSeparator(), safeTxHash);
    }

    function getTransactionHash(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address refundReceiver,
        uint256 _nonce
    ) public view returns (bytes32) {
        return keccak256(
            encodeTransactionData(to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, _nonce)
        );
    }

    function execTransaction(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address payable refundReceiver,
        bytes memory signatures
    ) external payable returns (bool success) {
        bytes32 txHash = getTransactionHash(
            to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce
        );
        nonce++;
        checkSignature(txHash, signatures);
        require(gasPrice == 0, "polysim: gas refunds are not modelled");
        if (operation == 1) {
            (success,) = to.delegatecall{gas: gasleft() - 2500}(data);
        } else {
            (success,) = to.call{value: value, gas: gasleft() - 2500}(data);
        }
        require(success || safeTxGas != 0 || gasPrice != 0, "GS013");
        if (success) {
            emit ExecutionSuccess(txHash, 0);
        } else {
            emit ExecutionFailure(txHash, 0);
        }
    }

    function checkSignature(bytes32 dataHash, bytes memory signatures) internal view {
        require(signatures.length >= 65, "GS020");
        uint8 v;
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(signatures, 0x20))
            s := mload(add(signatures, 0x40))
            v := and(mload(add(signatures, 0x41)), 0xff)
        }
        address signer;
        if (v == 0) {
            revert("polysim: contract signatures are not modelled");
        } else if (v == 1) {
            signer = address(uint160(uint256(r)));
            require(msg.sender == signer, "GS025");
        } else if (v > 30) {
            signer = ecrecover(keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", dataHash)), v - 4, r, s);
        } else {
            signer = ecrecover(dataHash, v, r, s);
        }
        require(signer != address(0) && signer == owner, "GS026");
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
