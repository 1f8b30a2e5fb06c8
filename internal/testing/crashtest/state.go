package crashtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// recordReader reads polysim's --record file as it grows: one eth_getLogs JSON object a line.
type recordReader struct {
	path      string
	off       int64
	leaders   map[common.Address]bool
	exchanges map[common.Address]bool
	fills     []polymarket.Fill // the leaders' own fills from the watched exchanges, in chain order
	logs      int
}

// read consumes the complete lines appended since the last call.
func (r *recordReader) read() error {
	f, err := os.Open(r.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a partial last line is read again next time
		}
		if err != nil {
			return err
		}
		r.off += int64(len(line))
		var l types.Log
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("record line at offset %d: %w", r.off-int64(len(line)), err)
		}
		r.logs++
		f, err := polymarket.DecodeOrderFilled(&l)
		if err != nil {
			continue // OrdersMatched, or not a fill
		}
		if r.leaders[f.Maker] && r.exchanges[l.Address] {
			r.fills = append(r.fills, f)
		}
	}
}

// storeView is what the store holds after a crash, read with the daemon down.
type storeView struct {
	decisions []store.Decision
	pending   []store.Intent
	intents   int // keys in the intents bucket
}

// checkBolt opens the file with bbolt itself and runs its consistency check: every page
// reachable once, no freed page in use, every bucket's keys in order.
func checkBolt(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("bbolt open: %w", err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// countKeys counts the keys of the store's bucket name. The bucket names are the store's file
// format (internal/store); the test reads them to find intents no decision points to.
func countKeys(path, name string) (int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(name))
		if b == nil {
			return fmt.Errorf("bucket %q missing", name)
		}
		n = b.Stats().KeyN
		return nil
	})
	return n, err
}

// inspect checks the store in dir with no daemon running: bbolt's consistency check, then the
// store opened read-only as the CLI does; it returns the decisions and pending intents.
func inspect(dir string) (storeView, error) {
	var v storeView
	path := store.Path(dir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return v, nil // killed before it created the store
	}
	if err := checkBolt(path); err != nil {
		return v, fmt.Errorf("consistency check: %w", err)
	}
	st, err := store.OpenReadOnly(store.Options{Dir: dir})
	if err != nil {
		return v, err
	}
	v.decisions, err = st.Decisions(time.Time{}, 0)
	if err == nil {
		v.pending, err = st.PendingIntents()
	}
	if err = errors.Join(err, st.Close()); err != nil {
		return v, err
	}
	v.intents, err = countKeys(path, "intents")
	return v, err
}
