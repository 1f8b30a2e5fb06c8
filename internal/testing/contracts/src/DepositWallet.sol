// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title DepositWallet: polysim's stand-in for a Polymarket deposit wallet (CLOB V2 signature
/// type 3, POLY_1271), the smart-contract wallet accounts opened since the V2 cutover trade from.
///
/// @notice What it keeps of the real wallet, and where each rule comes from:
///  - One owner EOA (storage slot 0) and a batch nonce (slot 1, `nonce()`): the real wallet is an
///    ERC-1967 proxy deployed per owner by the factory 0x00000000000Fb5C9ADea0298D729A0CB3823Cc07;
///    its `nonce()` is what Polymarket/clob-client-v2 v1.1.0
///    examples/account/approveDepositWalletAllowances.ts reads before each batch. polysim places
///    this code at the wallet's address in its genesis allocation and sets the two slots there
///    (the constructor only serves deployment by a transaction in tests).
///  - ERC-1271 `isValidSignature(hash, signature)` with the ERC-7739 `TypedDataSign` nested
///    typed-data scheme (eips.ethereum.org/EIPS/eip-7739): the signature is
///    `innerSig(65) ‖ appDomainSeparator ‖ contentsHash ‖ contentsDescription ‖
///    uint16(len(contentsDescription))`, the wallet's own EIP-712 domain is name "DepositWallet",
///    version "1", the chain, its address and a zero salt. This is the signature
///    Polymarket/py-clob-client-v2 1.0.1rc1 order_utils/exchange_order_builder_v2.py
///    (_build_poly_1271_order_signature) and clob-client-v2 v1.1.0 exchangeOrderBuilderV2.ts
///    build for a POLY_1271 order; their test vector is in testdata/polymarket-vectors.json.
///    Only the implicit contents description (the type string itself, ending in ")") is
///    accepted, the form those clients send; the explicit form and the PersonalSign path of
///    ERC-7739 are left out.
///  - A batch of calls authorised by the owner's EIP-712 signature of
///    `Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)` with
///    `Call(address target,uint256 value,bytes data)` under the wallet's domain (name
///    "DepositWallet", version "1", chainId, verifyingContract = the wallet), as the same
///    clob-client-v2 example signs it. The real batch reaches the wallet through Polymarket's
///    relayer, which submits it to the factory (`POST /submit`, type "WALLET"); the on-chain
///    entry point's name is not in any official client, so `executeBatch` here is polysim's own
///    name for it. Anyone may submit a batch (the relayer does); only the owner's signature,
///    the current nonce and an unexpired deadline make it run.
contract DepositWallet {
    // slot 0: the owner; slot 1: the batch nonce. polysim's genesis allocation sets both.
    address public owner;
    uint256 public nonce;

    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    bytes4 private constant MAGIC = 0x1626ba7e; // bytes4(keccak256("isValidSignature(bytes32,bytes)"))
    bytes4 private constant INVALID = 0xffffffff;
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("DepositWallet");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 private constant CALL_TYPEHASH = keccak256("Call(address target,uint256 value,bytes data)");
    bytes32 private constant BATCH_TYPEHASH = keccak256(
        "Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)Call(address target,uint256 value,bytes data)"
    );

    event BatchExecuted(uint256 indexed nonce, uint256 calls);

    error NotOwnerSignature();
    error Expired();
    error CallFailed(uint256 index, bytes reason);

    constructor(address owner_) {
        owner = owner_;
    }

    receive() external payable {}

    /// @notice ERC-1271 with the ERC-7739 TypedDataSign wrapper: MAGIC when the owner signed the
    /// nested typed data whose final hash is `hash`, 0xffffffff otherwise.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (bool ok, bytes32 digest) = _typedDataSignDigest(hash, signature);
        if (!ok || owner == address(0)) return INVALID;
        return _recover(digest, signature[0:65]) == owner ? MAGIC : INVALID;
    }

    /// @dev The ERC-7739 digest the owner signed for `hash`, read from the wrapper
    /// innerSig(65) ‖ appSep(32) ‖ contents(32) ‖ description ‖ uint16 length; false when the
    /// wrapper is malformed or describes another hash.
    function _typedDataSignDigest(bytes32 hash, bytes calldata signature) private view returns (bool, bytes32) {
        if (signature.length < 65 + 64 + 2) return (false, 0);
        uint256 descLen = uint16(bytes2(signature[signature.length - 2:]));
        if (signature.length != 65 + 64 + descLen + 2) return (false, 0);
        bytes32 appSep = bytes32(signature[65:97]);
        bytes32 contents = bytes32(signature[97:129]);
        // The wrapper must describe the very hash the caller asks about.
        if (keccak256(abi.encodePacked(hex"1901", appSep, contents)) != hash) return (false, 0);
        bytes calldata desc = signature[129:129 + descLen];
        (bool ok, bytes calldata name) = _contentsName(desc);
        if (!ok) return (false, 0);
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "TypedDataSign(",
                name,
                " contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
                desc
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(typeHash, contents, NAME_HASH, VERSION_HASH, block.chainid, address(this), bytes32(0))
        );
        return (true, keccak256(abi.encodePacked(hex"1901", appSep, structHash)));
    }

    /// @notice Runs `calls` from this wallet when the owner signed the Batch for the current
    /// nonce and `deadline` has not passed. Any call that reverts reverts the whole batch.
    function executeBatch(Call[] calldata calls, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert Expired();
        uint256 n = nonce;
        bytes32[] memory hashes = new bytes32[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            hashes[i] = keccak256(abi.encode(CALL_TYPEHASH, calls[i].target, calls[i].value, keccak256(calls[i].data)));
        }
        bytes32 structHash = keccak256(
            abi.encode(BATCH_TYPEHASH, address(this), n, deadline, keccak256(abi.encodePacked(hashes)))
        );
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
        address signer = _recover(digest, signature);
        if (signer == address(0) || signer != owner) revert NotOwnerSignature();
        nonce = n + 1;
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory reason) = calls[i].target.call{value: calls[i].value}(calls[i].data);
            if (!ok) revert CallFailed(i, reason);
        }
        emit BatchExecuted(n, calls.length);
    }

    /// @notice The wallet's EIP-712 domain separator for batches (no salt, as the official
    /// example's viem domain has none).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev The contents name of an implicit description: the type string's leading name, up to
    /// "(". ERC-7739 refuses an empty name, one starting with a lowercase letter, and one holding
    /// any of ", )\x00"; the description itself must end with ")".
    function _contentsName(bytes calldata desc) private pure returns (bool, bytes calldata) {
        if (desc.length == 0 || desc[desc.length - 1] != ")") return (false, desc[0:0]);
        uint256 i = 0;
        for (; i < desc.length; i++) {
            bytes1 c = desc[i];
            if (c == "(") break;
            if (c == "," || c == ")" || c == " " || c == 0x00) return (false, desc[0:0]);
        }
        if (i == 0 || i == desc.length) return (false, desc[0:0]);
        if (desc[0] >= "a" && desc[0] <= "z") return (false, desc[0:0]);
        return (true, desc[0:i]);
    }

    /// @dev ecrecover of a 65-byte r ‖ s ‖ v signature; address(0) when malformed, v not 27/28,
    /// or s in the upper half (EIP-2).
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > HALF_N) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
