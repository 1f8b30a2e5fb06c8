// Package checkpoint keeps polybot's chain checkpoint, the last block whose logs are fully
// processed, in a small file replaced atomically: written to a temporary file, synced, renamed
// over the old one, and the directory synced, so a crash leaves either the old or the new block,
// never a torn file. It implements monitor.Checkpointer until the state store takes over.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// version is the file format; a file of another version is refused.
const version = 1

// File is a checkpoint kept at one path. Its methods are safe for concurrent use.
type File struct {
	path string
	mu   sync.Mutex
}

type content struct {
	Version int    `json:"version"`
	Block   uint64 `json:"block"`
}

// Path is where polybot keeps the checkpoint of chain chainID under stateDir. The chain id is in
// the name so that pointing polybot at another chain never resumes from a foreign block.
func Path(stateDir string, chainID uint64) string {
	return filepath.Join(stateDir, fmt.Sprintf("chain-%d.checkpoint.json", chainID))
}

// NewFile returns the checkpoint kept at path. Nothing is read or written until Load or Save;
// Save creates the directory (0700) when it is missing.
func NewFile(path string) *File { return &File{path: path} }

// Load returns the saved block; ok is false when the file does not exist.
func (f *File) Load() (block uint64, ok bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read checkpoint: %w", err)
	}
	var c content
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, false, fmt.Errorf("checkpoint %s does not parse: %w", f.path, err)
	}
	if c.Version != version {
		return 0, false, fmt.Errorf("checkpoint %s has version %d, want %d", f.path, c.Version, version)
	}
	return c.Block, true, nil
}

// Save replaces the checkpoint with block, durably.
func (f *File) Save(block uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create checkpoint directory: %w", err)
	}
	b, err := json.Marshal(content{Version: version, Block: block})
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".checkpoint-*.tmp")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("replace checkpoint: %w", err)
	}
	done = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync checkpoint directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint directory: %w", err)
	}
	return nil
}

// Memory is a checkpoint kept in memory, for tests and for running without a state directory.
type Memory struct {
	mu    sync.Mutex
	block uint64
	ok    bool
	saves int
}

// Load returns the last saved block.
func (m *Memory) Load() (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.block, m.ok, nil
}

// Save records block.
func (m *Memory) Save(block uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.block, m.ok = block, true
	m.saves++
	return nil
}

// Saves is how many times Save was called.
func (m *Memory) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}
