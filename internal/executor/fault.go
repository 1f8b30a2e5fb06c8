package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/store"
)

// This file pauses copying while the state store cannot be written. A store call that fails
// with a fault of the file or its disk (store.FaultOf: disk full, over quota, read-only, I/O
// error…) is retried with capped backoff until it succeeds: the copy keeps its fill, which stays
// in flight (Settled holds the checkpoint before it), and no order is sent that is not recorded
// first. Meanwhile every other worker waits before starting its next copy, so the queues fill
// and Submit blocks: nothing is dropped. Healthy says whether a restart could help: not for a
// recoverable fault (space or a read-write mount must come back; a restart would find the same
// disk), unless it lasts longer than StorePauseLimit; at once for a fatal one.

// Backoff of a store call retried during a fault.
const (
	storeRetryMin = time.Second
	storeRetryMax = 30 * time.Second
)

// errAbandoned: shutdown came while a copy waited for the store; the fill stays in flight and
// is read from the chain again at the next start.
var errAbandoned = errors.New("copy abandoned at shutdown while the state store was failing")

// faultState is the executor's shared paused state.
type faultState struct {
	limit    time.Duration
	onChange func()

	mu      sync.Mutex
	waiting int // copies retrying a store call
	err     error
	class   store.Fault
	since   time.Time
	resume  chan struct{} // closed when the pause ends; nil while not paused
}

// wait returns at once when copying is not paused, else when it resumes, or errAbandoned when
// ctx ends first.
func (f *faultState) wait(ctx context.Context) error {
	f.mu.Lock()
	ch := f.resume
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return errAbandoned
	}
}

// storeDo runs op, one store call of a copy, until it returns nil or an error that is not a
// store fault (store.FaultNone: the caller's own, such as ErrIntentExists). During a fault
// copying is paused. It returns errAbandoned when ctx ends first.
func (e *Executor) storeDo(ctx context.Context, log *zap.Logger, what string, op func() error) error {
	err := op()
	if store.FaultOf(err) == store.FaultNone {
		return err
	}
	e.pause(log, what, err)
	wait := storeRetryMin
	for {
		t := e.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			e.unpause(true)
			return errAbandoned
		}
		err = op()
		if store.FaultOf(err) == store.FaultNone {
			e.unpause(false)
			return err
		}
		e.stillFailing(err)
		wait = min(2*wait, storeRetryMax)
	}
}

func (e *Executor) pause(log *zap.Logger, what string, err error) {
	f := &e.fault
	f.mu.Lock()
	f.waiting++
	first := f.resume == nil
	wasFatal := f.class == store.FaultFatal
	if first {
		f.resume, f.since, wasFatal = make(chan struct{}), e.now(), false
	}
	f.err, f.class = err, store.FaultOf(err)
	fatal := f.class == store.FaultFatal && !wasFatal
	f.mu.Unlock()
	if first {
		log.Error("copying paused: the state store cannot be written; no order is sent until it can, and new fills wait in their queues",
			zap.String("step", what), zap.String("fault", store.FaultOf(err).String()), zap.Error(err))
	}
	if fatal {
		e.logFatal(err)
	}
	if first && f.onChange != nil {
		f.onChange()
	}
}

func (e *Executor) stillFailing(err error) {
	f := &e.fault
	f.mu.Lock()
	fatal := store.FaultOf(err) == store.FaultFatal && f.class != store.FaultFatal
	f.err, f.class = err, store.FaultOf(err)
	f.mu.Unlock()
	if fatal {
		e.logFatal(err)
	}
}

func (e *Executor) logFatal(err error) {
	e.log.Error("the state store fault is not recoverable: polybot reports itself unhealthy, so the systemd watchdog stops being fed and systemd restarts it",
		zap.Error(err))
}

// unpause ends one copy's wait for the store; the pause ends with the last one.
func (e *Executor) unpause(abandoned bool) {
	f := &e.fault
	f.mu.Lock()
	f.waiting--
	ended := f.waiting == 0 && f.resume != nil
	var pausedFor time.Duration
	if ended {
		close(f.resume)
		pausedFor = e.now().Sub(f.since)
		f.resume, f.err, f.class, f.since = nil, nil, store.FaultNone, time.Time{}
	}
	f.mu.Unlock()
	if !ended {
		return
	}
	if abandoned {
		e.log.Warn("copying stopped while paused by a state store fault", zap.Duration("paused_for", pausedFor.Round(time.Second)))
	} else {
		e.log.Info("copying resumed: the state store takes writes again", zap.Duration("paused_for", pausedFor.Round(time.Second)))
	}
	if f.onChange != nil {
		f.onChange()
	}
}

// Paused reports why copying is paused and since when; reason is "" when it is not. The
// reason reads "state store not writable: <error>" for a recoverable fault (disk full, quota,
// read-only) and "state store failing: <error>" for a fatal one.
func (e *Executor) Paused() (reason string, since time.Time) {
	f := &e.fault
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resume == nil {
		return "", time.Time{}
	}
	return faultReason(f.class, f.err), f.since
}

func faultReason(class store.Fault, err error) string {
	if class == store.FaultRecoverable {
		return "state store not writable: " + err.Error()
	}
	return "state store failing: " + err.Error()
}

// Healthy is nil unless a restart is the way out of a store fault: the fault is fatal (I/O
// error, the file closed or unreadable), or a recoverable one (disk full, read-only) has paused
// copying for longer than StorePauseLimit (when set). The app feeds the systemd watchdog only
// while it is nil.
func (e *Executor) Healthy() error {
	f := &e.fault
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.resume == nil:
		return nil
	case f.class == store.FaultFatal:
		return fmt.Errorf("copying paused, %s", faultReason(f.class, f.err))
	case f.limit > 0:
		if d := e.now().Sub(f.since); d > f.limit {
			return fmt.Errorf("copying paused for %s, longer than executor.store_pause_limit %s: %s",
				d.Round(time.Second), f.limit, faultReason(f.class, f.err))
		}
	}
	return nil
}

// Breaker reports the CLOB circuit breaker's state.
func (e *Executor) Breaker() BreakerStatus { return e.breaker.Status() }
