package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// The decision log's record format. A decision is stored as a compact binary record instead of
// the JSON object of schema version 1 (563 B on average): the log is the largest part of the
// store, and the file is mapped into polybot's memory, so every byte of it shows in the RSS a
// user sees.
//
// A record is its format byte (decisionFormatV1) followed by fields, each a tag (uvarint:
// field number << 1 | wire type) and a payload: wire type 0 is a uvarint, wire type 1 a
// uvarint length and that many bytes. A field at its zero value is left out. A reader skips
// fields it does not know, so a field is added by giving it the next free number and writing
// it only when it is not zero: records written before it read as zero, and nothing else
// changes. The decision's time is the record's key (timeKey), so it is stored only when it
// cannot be read from the key.
//
// The leader address, the token id, the limit and the reasons without figures repeat across
// thousands of decisions; they are stored once in the dict bucket and each record holds their
// small number (wire type 0) instead of 20, 78 and tens of bytes. A JSON record (schema version 1, first byte '{') is still read, so a
// store opened read-only before its migration reads as before.
const decisionFormatV1 = 0x01

// Field numbers of a decision record. Never reuse or renumber one: records on disk keep them.
const (
	fieldTime         = 1  // varint, zigzag Unix nanoseconds; only when it differs from the key
	fieldLeader       = 2  // varint: dict number; bytes: 20-byte address
	fieldToken        = 3  // varint: dict number; bytes: the token id
	fieldSide         = 4  // varint: code (codeStrings); bytes: the text
	fieldAction       = 5  // varint: code (codeStrings); bytes: the text
	fieldReason       = 6  // varint: dict number (a reason without digits); bytes: the text
	fieldLimit        = 7  // varint: dict number; bytes: the text
	fieldShares       = 8  // varint
	fieldCollateral   = 9  // varint
	fieldTx           = 10 // bytes, 32
	fieldLogIndex     = 11 // varint
	fieldLeaderShares = 12 // varint
	fieldOrderHash    = 13 // bytes, 32
	fieldNth          = 14 // varint
	// fieldChain is the chain's record of a copy's order (OnChain), as JSON: only copies placed
	// live carry one, and it is read back whole.
	fieldChain = 15 // bytes
	// fieldAttempt is the exit retry a decision is for (Decision.Attempt).
	fieldAttempt = 16 // varint
)

const (
	wireVarint = 0
	wireBytes  = 1
)

// codeStrings are the sides and actions a record holds as a one-byte code (index + 1).
// Append only: codes on disk keep their meaning.
var codeStrings = []string{"BUY", "SELL", "copy", "reduce", "skip"}

// The dict bucket: dictValue ‖ text -> number (8 bytes), dictNumber ‖ number -> text.
var (
	bucketDict = []byte("dict")
	dictValue  = []byte{'v'}
	dictNumber = []byte{'n'}
)

var errBadRecord = errors.New("malformed decision record")

// recordWriter appends one record's fields.
type recordWriter struct{ b []byte }

func (w *recordWriter) varint(field int, v uint64) {
	if v == 0 {
		return
	}
	w.b = binary.AppendUvarint(w.b, uint64(field)<<1|wireVarint)
	w.b = binary.AppendUvarint(w.b, v)
}

func (w *recordWriter) bytes(field int, v []byte) {
	if len(v) == 0 {
		return
	}
	w.b = binary.AppendUvarint(w.b, uint64(field)<<1|wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(v)))
	w.b = append(w.b, v...)
}

// code writes s as its code when it has one, else as text.
func (w *recordWriter) code(field int, s string) {
	for i, c := range codeStrings {
		if c == s {
			w.varint(field, uint64(i+1))
			return
		}
	}
	w.bytes(field, []byte(s))
}

// encodeDecision is d's record under key; dict numbers the leader and token, adding them when
// new (dict is written only then).
func encodeDecision(key []byte, d *Decision, dict *bolt.Bucket) ([]byte, error) {
	w := recordWriter{b: make([]byte, 1, 160)}
	w.b[0] = decisionFormatV1
	switch n := d.Time.UnixNano(); {
	case d.Time.IsZero():
		w.bytes(fieldTime, []byte{0}) // the zero time, which has no Unix nanoseconds
	case len(key) < 8 || n != int64(binary.BigEndian.Uint64(key)):
		w.varint(fieldTime, zigzag(n))
	}
	if d.Leader != (common.Address{}) {
		n, err := dictNumberOf(dict, d.Leader[:])
		if err != nil {
			return nil, err
		}
		w.varint(fieldLeader, n)
	}
	if d.Token != "" {
		n, err := dictNumberOf(dict, []byte(d.Token))
		if err != nil {
			return nil, err
		}
		w.varint(fieldToken, n)
	}
	w.code(fieldSide, d.Side)
	w.code(fieldAction, d.Action)
	if err := w.dictOrText(fieldReason, d.Reason, dict, !strings.ContainsAny(d.Reason, "0123456789")); err != nil {
		return nil, err
	}
	if err := w.dictOrText(fieldLimit, d.Limit, dict, true); err != nil {
		return nil, err
	}
	w.varint(fieldShares, d.Shares)
	w.varint(fieldCollateral, d.Collateral)
	if d.Tx != (common.Hash{}) {
		w.bytes(fieldTx, d.Tx[:])
	}
	w.varint(fieldLogIndex, uint64(d.LogIndex))
	w.varint(fieldLeaderShares, d.LeaderShares)
	if d.OrderHash != (common.Hash{}) {
		w.bytes(fieldOrderHash, d.OrderHash[:])
	}
	w.varint(fieldNth, uint64(d.Nth))
	w.varint(fieldAttempt, uint64(d.Attempt))
	if d.Chain != nil {
		b, err := json.Marshal(d.Chain)
		if err != nil {
			return nil, err
		}
		w.bytes(fieldChain, b)
	}
	return w.b, nil
}

// dictOrText writes s as its dict number when inDict, else as text. Only texts from a small
// vocabulary go in the dict, which is never pruned: the config keys a Limit names, and the
// reasons without figures ("circuit breaker tripped for today", "no position to sell"); a
// reason with figures in it is nearly always new, and is written as it is.
func (w *recordWriter) dictOrText(field int, s string, dict *bolt.Bucket, inDict bool) error {
	if s == "" {
		return nil
	}
	if !inDict {
		w.bytes(field, []byte(s))
		return nil
	}
	n, err := dictNumberOf(dict, []byte(s))
	if err != nil {
		return err
	}
	w.varint(field, n)
	return nil
}

// dictNumberOf returns text's number in dict, numbering it when new.
func dictNumberOf(dict *bolt.Bucket, text []byte) (uint64, error) {
	vk := append(dictValue[:1:1], text...)
	if v := dict.Get(vk); len(v) == 8 {
		return binary.BigEndian.Uint64(v), nil
	}
	n, err := dict.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := dict.Put(vk, u64(n)); err != nil {
		return 0, err
	}
	return n, dict.Put(append(dictNumber[:1:1], u64(n)...), text)
}

// dictReader reads dict numbers back, remembering those it has read.
type dictReader struct {
	b     *bolt.Bucket // nil in a file from before the dict
	cache map[uint64]string
}

func newDictReader(tx *bolt.Tx) *dictReader {
	return &dictReader{b: tx.Bucket(bucketDict), cache: make(map[uint64]string)}
}

func (r *dictReader) text(n uint64) (string, error) {
	if s, ok := r.cache[n]; ok {
		return s, nil
	}
	var v []byte
	if r.b != nil {
		v = r.b.Get(append(dictNumber[:1:1], u64(n)...))
	}
	if v == nil {
		return "", fmt.Errorf("%w: dict number %d is missing", errBadRecord, n)
	}
	r.cache[n] = string(v)
	return string(v), nil
}

// decodeDecision reads the record v stored under key: a binary record, or a JSON one from
// schema version 1.
func decodeDecision(key, v []byte, dict *dictReader) (Decision, error) {
	var d Decision
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &d); err != nil {
			return d, fmt.Errorf("decode decision %x: %w", key, err)
		}
		return d, nil
	}
	if err := d.decodeBinary(key, v, dict); err != nil {
		return d, fmt.Errorf("decode decision %x: %w", key, err)
	}
	return d, nil
}

func (d *Decision) decodeBinary(key, v []byte, dict *dictReader) error {
	if len(v) == 0 || v[0] != decisionFormatV1 {
		return fmt.Errorf("%w: format byte %x", errBadRecord, v[:min(len(v), 1)])
	}
	if len(key) >= 8 {
		d.Time = time.Unix(0, int64(binary.BigEndian.Uint64(key))).UTC()
	}
	for p := v[1:]; len(p) > 0; {
		tag, n := binary.Uvarint(p)
		if n <= 0 {
			return fmt.Errorf("%w: bad tag", errBadRecord)
		}
		p = p[n:]
		field, wire := int(tag>>1), tag&1
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return fmt.Errorf("%w: field %d: bad value", errBadRecord, field)
		}
		p = p[n:]
		var b []byte
		if wire == wireBytes {
			if x > uint64(len(p)) {
				return fmt.Errorf("%w: field %d: %d bytes past the end", errBadRecord, field, x)
			}
			b, p = p[:x], p[x:]
		}
		if err := d.setField(field, wire, x, b, dict); err != nil {
			return err
		}
	}
	return nil
}

// setField sets one decoded field; unknown fields are skipped.
func (d *Decision) setField(field int, wire, x uint64, b []byte, dict *dictReader) error {
	text := func() (string, error) {
		if wire == wireBytes {
			return string(b), nil
		}
		return dict.text(x)
	}
	code := func() (string, error) {
		if wire == wireBytes {
			return string(b), nil
		}
		if x == 0 || x > uint64(len(codeStrings)) {
			return "", fmt.Errorf("%w: field %d: unknown code %d", errBadRecord, field, x)
		}
		return codeStrings[x-1], nil
	}
	hash := func(h *common.Hash) error {
		if len(b) != common.HashLength {
			return fmt.Errorf("%w: field %d: %d bytes, want %d", errBadRecord, field, len(b), common.HashLength)
		}
		copy(h[:], b)
		return nil
	}
	var err error
	switch field {
	case fieldTime:
		if wire == wireBytes {
			d.Time = time.Time{}
		} else {
			d.Time = time.Unix(0, unzigzag(x)).UTC()
		}
	case fieldLeader:
		var s string
		if s, err = text(); err == nil {
			if len(s) != common.AddressLength {
				return fmt.Errorf("%w: leader of %d bytes", errBadRecord, len(s))
			}
			d.Leader = common.BytesToAddress([]byte(s))
		}
	case fieldToken:
		d.Token, err = text()
	case fieldSide:
		d.Side, err = code()
	case fieldAction:
		d.Action, err = code()
	case fieldReason:
		d.Reason, err = text()
	case fieldLimit:
		d.Limit, err = text()
	case fieldShares:
		d.Shares = x
	case fieldCollateral:
		d.Collateral = x
	case fieldTx:
		err = hash(&d.Tx)
	case fieldLogIndex:
		d.LogIndex = uint(x)
	case fieldLeaderShares:
		d.LeaderShares = x
	case fieldOrderHash:
		err = hash(&d.OrderHash)
	case fieldNth:
		d.Nth = uint(x)
	case fieldAttempt:
		d.Attempt = uint(x)
	case fieldChain:
		if wire != wireBytes {
			return fmt.Errorf("%w: field %d: want bytes", errBadRecord, field)
		}
		var c OnChain
		if err = json.Unmarshal(b, &c); err == nil {
			d.Chain = &c
		}
	}
	return err
}

func zigzag(n int64) uint64 { return uint64(n<<1) ^ uint64(n>>63) }

func unzigzag(x uint64) int64 { return int64(x>>1) ^ -int64(x&1) }
