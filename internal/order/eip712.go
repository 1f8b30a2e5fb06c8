package order

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// EIP-712 type strings. Their keccak hashes are the type hashes the exchanges check.
const (
	DomainType                        = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	DomainTypeNoContract              = "EIP712Domain(string name,string version,uint256 chainId)"
	OrderV1Type                       = "Order(uint256 salt,address maker,address signer,address taker,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint256 expiration,uint256 nonce,uint256 feeRateBps,uint8 side,uint8 signatureType)"
	OrderV2Type                       = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)"
	typedDataSignPrefix               = "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)"
	depositWalletName, depositVersion = "DepositWallet", "1"
)

// Type hashes.
var (
	DomainTypeHash           = crypto.Keccak256Hash([]byte(DomainType))
	DomainNoContractTypeHash = crypto.Keccak256Hash([]byte(DomainTypeNoContract))
	OrderV1TypeHash          = crypto.Keccak256Hash([]byte(OrderV1Type))
	OrderV2TypeHash          = crypto.Keccak256Hash([]byte(OrderV2Type))
	typedDataSignTypeHash    = crypto.Keccak256Hash([]byte(typedDataSignPrefix + OrderV2Type))
	depositWalletNameHash    = crypto.Keccak256Hash([]byte(depositWalletName))
	depositVersionHash       = crypto.Keccak256Hash([]byte(depositVersion))
)

// ExchangeName is the EIP-712 domain name of every Polymarket CTF exchange.
const ExchangeName = "Polymarket CTF Exchange"

// MaxSalt is the largest salt polybot signs: the CLOB parses the JSON salt as an IEEE 754 double,
// so a larger one would not survive the trip and the order hash would change.
const MaxSalt = 1<<53 - 1

// Domain is an EIP-712 domain. A nil VerifyingContract leaves the field out of the domain type,
// as the CLOB's ClobAuthDomain does.
type Domain struct {
	Name              string
	Version           string
	ChainID           int64
	VerifyingContract *common.Address
}

// ExchangeDomain returns the order-signing domain of the exchange at addr for proto on chainID:
// version "1", "2" or "3" as proto is V1, V2 or V3 (ExchangeV3).
func ExchangeDomain(proto Protocol, chainID int64, exchange common.Address) Domain {
	v := "1"
	switch proto {
	case V2:
		v = "2"
	case V3:
		v = "3"
	}
	return Domain{Name: ExchangeName, Version: v, ChainID: chainID, VerifyingContract: &exchange}
}

// DomainSeparator returns the EIP-712 hashStruct of d.
func DomainSeparator(d Domain) common.Hash {
	var buf [5 * 32]byte
	n := 4
	if d.VerifyingContract != nil {
		copy(buf[0:32], DomainTypeHash[:])
		copy(buf[4*32+12:5*32], d.VerifyingContract[:])
		n = 5
	} else {
		copy(buf[0:32], DomainNoContractTypeHash[:])
	}
	nameHash := crypto.Keccak256Hash([]byte(d.Name))
	versionHash := crypto.Keccak256Hash([]byte(d.Version))
	copy(buf[32:64], nameHash[:])
	copy(buf[64:96], versionHash[:])
	putInt64(buf[96:128], d.ChainID)
	return crypto.Keccak256Hash(buf[:n*32])
}

// TypedDataHash returns the EIP-712 digest keccak(0x1901 ‖ domainSeparator ‖ structHash).
func TypedDataHash(domainSeparator, structHash common.Hash) common.Hash {
	var buf [2 + 64]byte
	buf[0], buf[1] = 0x19, 0x01
	copy(buf[2:34], domainSeparator[:])
	copy(buf[34:66], structHash[:])
	return crypto.Keccak256Hash(buf[:])
}

// OrderV2 is the order signed for exchange V2. Expiration (unix seconds, 0 for none) is sent in the
// JSON body but is not part of the signed struct.
type OrderV2 struct {
	Salt          *big.Int
	Maker         common.Address
	Signer        common.Address
	TokenID       *big.Int
	MakerAmount   *big.Int
	TakerAmount   *big.Int
	Side          Side
	SignatureType SignatureType
	Timestamp     *big.Int // creation time, unix milliseconds
	Metadata      [32]byte
	Builder       [32]byte
	Expiration    *big.Int // unix seconds; sent, not signed
}

// OrderV1 is the order signed for exchange V1.
type OrderV1 struct {
	Salt          *big.Int
	Maker         common.Address
	Signer        common.Address
	Taker         common.Address
	TokenID       *big.Int
	MakerAmount   *big.Int
	TakerAmount   *big.Int
	Expiration    *big.Int // unix seconds, 0 for none
	Nonce         *big.Int
	FeeRateBps    *big.Int
	Side          Side
	SignatureType SignatureType
}

// Validate checks the fields of o: every number present and within uint256, salt at most MaxSalt,
// a known side and signature type, and signer == maker for EOA and POLY_1271.
func (o *OrderV2) Validate() error {
	for _, f := range []struct {
		name string
		v    *big.Int
	}{{"salt", o.Salt}, {"tokenId", o.TokenID}, {"makerAmount", o.MakerAmount}, {"takerAmount", o.TakerAmount}, {"timestamp", o.Timestamp}} {
		if err := checkUint256(f.name, f.v); err != nil {
			return err
		}
	}
	if o.Expiration != nil {
		if err := checkUint256("expiration", o.Expiration); err != nil {
			return err
		}
	}
	if err := checkSalt(o.Salt); err != nil {
		return err
	}
	if !o.Side.Valid() {
		return fmt.Errorf("%w: side %d", ErrInvalidOrder, o.Side)
	}
	switch o.SignatureType {
	case EOA, Poly1271:
		if o.Signer != o.Maker {
			return fmt.Errorf("%w: signature type %s needs signer == maker, have signer %s maker %s", ErrInvalidOrder, o.SignatureType, o.Signer, o.Maker)
		}
	case PolyProxy, PolyGnosisSafe:
	default:
		return fmt.Errorf("%w: signature type %d", ErrInvalidOrder, o.SignatureType)
	}
	return nil
}

// StructHash returns the EIP-712 hashStruct of o. It is meaningful only for an order that passes
// Validate; nil or out-of-range numbers are hashed as zero.
func (o *OrderV2) StructHash() common.Hash {
	var buf [12 * 32]byte
	copy(buf[0:32], OrderV2TypeHash[:])
	putUint256(buf[32:64], o.Salt)
	copy(buf[2*32+12:3*32], o.Maker[:])
	copy(buf[3*32+12:4*32], o.Signer[:])
	putUint256(buf[4*32:5*32], o.TokenID)
	putUint256(buf[5*32:6*32], o.MakerAmount)
	putUint256(buf[6*32:7*32], o.TakerAmount)
	buf[8*32-1] = byte(o.Side)
	buf[9*32-1] = byte(o.SignatureType)
	putUint256(buf[9*32:10*32], o.Timestamp)
	copy(buf[10*32:11*32], o.Metadata[:])
	copy(buf[11*32:12*32], o.Builder[:])
	return crypto.Keccak256Hash(buf[:])
}

// Hash returns the EIP-712 digest of o under d: the order hash the exchange emits in its events.
func (o *OrderV2) Hash(d Domain) common.Hash {
	return TypedDataHash(DomainSeparator(d), o.StructHash())
}

// Validate checks the fields of o: every number present and within uint256, salt at most MaxSalt,
// a known side, a V1 signature type, and signer == maker for EOA.
func (o *OrderV1) Validate() error {
	for _, f := range []struct {
		name string
		v    *big.Int
	}{{"salt", o.Salt}, {"tokenId", o.TokenID}, {"makerAmount", o.MakerAmount}, {"takerAmount", o.TakerAmount},
		{"expiration", o.Expiration}, {"nonce", o.Nonce}, {"feeRateBps", o.FeeRateBps}} {
		if err := checkUint256(f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkSalt(o.Salt); err != nil {
		return err
	}
	if !o.Side.Valid() {
		return fmt.Errorf("%w: side %d", ErrInvalidOrder, o.Side)
	}
	switch o.SignatureType {
	case EOA:
		if o.Signer != o.Maker {
			return fmt.Errorf("%w: signature type EOA needs signer == maker, have signer %s maker %s", ErrInvalidOrder, o.Signer, o.Maker)
		}
	case PolyProxy, PolyGnosisSafe:
	default:
		return fmt.Errorf("%w: signature type %s is not valid on exchange V1", ErrInvalidOrder, o.SignatureType)
	}
	return nil
}

// StructHash returns the EIP-712 hashStruct of o. It is meaningful only for an order that passes
// Validate; nil or out-of-range numbers are hashed as zero.
func (o *OrderV1) StructHash() common.Hash {
	var buf [13 * 32]byte
	copy(buf[0:32], OrderV1TypeHash[:])
	putUint256(buf[32:64], o.Salt)
	copy(buf[2*32+12:3*32], o.Maker[:])
	copy(buf[3*32+12:4*32], o.Signer[:])
	copy(buf[4*32+12:5*32], o.Taker[:])
	putUint256(buf[5*32:6*32], o.TokenID)
	putUint256(buf[6*32:7*32], o.MakerAmount)
	putUint256(buf[7*32:8*32], o.TakerAmount)
	putUint256(buf[8*32:9*32], o.Expiration)
	putUint256(buf[9*32:10*32], o.Nonce)
	putUint256(buf[10*32:11*32], o.FeeRateBps)
	buf[12*32-1] = byte(o.Side)
	buf[13*32-1] = byte(o.SignatureType)
	return crypto.Keccak256Hash(buf[:])
}

// Hash returns the EIP-712 digest of o under d: the order hash the exchange emits in its events.
func (o *OrderV1) Hash(d Domain) common.Hash {
	return TypedDataHash(DomainSeparator(d), o.StructHash())
}

// SignV2 validates o and signs it for the exchange domain d. It returns the signature to send and
// the order hash. For EOA, POLY_PROXY and POLY_GNOSIS_SAFE the signature is 65 bytes r‖s‖v with
// v in {27, 28}; key must belong to o.Signer. For POLY_1271 it is the ERC-7739 wrapper that the
// deposit wallet o.Signer checks, signed by key, the wallet's owner.
func SignV2(key *ecdsa.PrivateKey, o *OrderV2, d Domain) (sig []byte, hash common.Hash, err error) {
	if key == nil {
		return nil, common.Hash{}, fmt.Errorf("%w: no private key", ErrInvalidOrder)
	}
	if err := o.Validate(); err != nil {
		return nil, common.Hash{}, err
	}
	sep := DomainSeparator(d)
	structHash := o.StructHash()
	hash = TypedDataHash(sep, structHash)
	if o.SignatureType == Poly1271 {
		sig, err = signPoly1271(key, o.Signer, d.ChainID, sep, structHash)
	} else {
		sig, err = SignDigest(key, hash)
	}
	if err != nil {
		return nil, common.Hash{}, err
	}
	return sig, hash, nil
}

// SignV1 validates o and signs it for the exchange domain d: 65 bytes r‖s‖v, v in {27, 28}.
func SignV1(key *ecdsa.PrivateKey, o *OrderV1, d Domain) (sig []byte, hash common.Hash, err error) {
	if key == nil {
		return nil, common.Hash{}, fmt.Errorf("%w: no private key", ErrInvalidOrder)
	}
	if err := o.Validate(); err != nil {
		return nil, common.Hash{}, err
	}
	hash = o.Hash(d)
	sig, err = SignDigest(key, hash)
	if err != nil {
		return nil, common.Hash{}, err
	}
	return sig, hash, nil
}

// SignDigest signs a 32-byte digest: 65 bytes r‖s‖v, low s, v in {27, 28}.
func SignDigest(key *ecdsa.PrivateKey, digest common.Hash) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("sign digest: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// RecoverSigner returns the address whose key made the 65-byte signature sig over hash. v may be
// 27/28 or 0/1; a high-s signature is refused, as the exchange refuses it.
func RecoverSigner(hash common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("%w: length %d, want 65", ErrInvalidSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(v, r, s, true) {
		return common.Address{}, fmt.Errorf("%w: bad r, s or v", ErrInvalidSignature)
	}
	var norm [65]byte
	copy(norm[:], sig)
	norm[64] = v
	pub, err := crypto.SigToPub(hash[:], norm[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// poly1271Digest is the ERC-7739 TypedDataSign digest a deposit wallet checks: the order struct
// as "contents", the wallet's own domain (name "DepositWallet", version "1", the chain, the
// wallet address, zero salt) as the remaining fields, all under the exchange's domain separator.
func poly1271Digest(wallet common.Address, chainID int64, appSep, contents common.Hash) common.Hash {
	var buf [7 * 32]byte
	copy(buf[0:32], typedDataSignTypeHash[:])
	copy(buf[32:64], contents[:])
	copy(buf[64:96], depositWalletNameHash[:])
	copy(buf[96:128], depositVersionHash[:])
	putInt64(buf[128:160], chainID)
	copy(buf[5*32+12:6*32], wallet[:])
	// salt: zero
	return TypedDataHash(appSep, crypto.Keccak256Hash(buf[:]))
}

// signPoly1271 builds innerSig(65) ‖ appDomainSeparator ‖ contentsHash ‖ contentsType ‖
// uint16be(len(contentsType)).
func signPoly1271(key *ecdsa.PrivateKey, wallet common.Address, chainID int64, appSep, contents common.Hash) ([]byte, error) {
	inner, err := SignDigest(key, poly1271Digest(wallet, chainID, appSep, contents))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 65+64+len(OrderV2Type)+2)
	out = append(out, inner...)
	out = append(out, appSep[:]...)
	out = append(out, contents[:]...)
	out = append(out, OrderV2Type...)
	return binary.BigEndian.AppendUint16(out, uint16(len(OrderV2Type))), nil
}

// RecoverPoly1271 checks a POLY_1271 wrapped signature of o under d and returns the EOA that made
// the inner signature (the deposit wallet's owner, which the wallet contract would check).
func RecoverPoly1271(o *OrderV2, d Domain, sig []byte) (common.Address, error) {
	want := 65 + 64 + len(OrderV2Type) + 2
	if len(sig) != want {
		return common.Address{}, fmt.Errorf("%w: POLY_1271 signature length %d, want %d", ErrInvalidSignature, len(sig), want)
	}
	sep := DomainSeparator(d)
	contents := o.StructHash()
	if common.BytesToHash(sig[65:97]) != sep {
		return common.Address{}, fmt.Errorf("%w: POLY_1271 app domain separator mismatch", ErrInvalidSignature)
	}
	if common.BytesToHash(sig[97:129]) != contents {
		return common.Address{}, fmt.Errorf("%w: POLY_1271 contents hash mismatch", ErrInvalidSignature)
	}
	if string(sig[129:129+len(OrderV2Type)]) != OrderV2Type || int(binary.BigEndian.Uint16(sig[want-2:])) != len(OrderV2Type) {
		return common.Address{}, fmt.Errorf("%w: POLY_1271 contents type mismatch", ErrInvalidSignature)
	}
	return RecoverSigner(poly1271Digest(o.Signer, d.ChainID, sep, contents), sig[:65])
}

func checkUint256(name string, v *big.Int) error {
	if v == nil {
		return fmt.Errorf("%w: %s missing", ErrInvalidOrder, name)
	}
	if v.Sign() < 0 || v.BitLen() > 256 {
		return fmt.Errorf("%w: %s %s is not a uint256", ErrInvalidOrder, name, v)
	}
	return nil
}

func checkSalt(salt *big.Int) error {
	if salt.Cmp(big.NewInt(MaxSalt)) > 0 {
		return fmt.Errorf("%w: salt %s exceeds 2^53-1", ErrInvalidOrder, salt)
	}
	return nil
}

// putUint256 writes v big-endian into the 32-byte word dst; nil or out-of-range values leave zero.
func putUint256(dst []byte, v *big.Int) {
	if v == nil || v.Sign() < 0 || v.BitLen() > 256 {
		return
	}
	v.FillBytes(dst[:32])
}

// putInt64 writes a chain id as a uint256 word. Chain ids are positive; a negative one is written
// as its 64-bit pattern and yields a domain no chain uses.
func putInt64(dst []byte, v int64) {
	binary.BigEndian.PutUint64(dst[24:32], uint64(v))
}
