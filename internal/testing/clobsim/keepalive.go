package clobsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// handleHeartbeat answers POST /heartbeats {"heartbeat_id": "…"}: an empty id starts a session
// for the API key, and each later heartbeat must carry the id the previous answer gave. The
// answer is {"heartbeat_id": "<next id>"}. Once a key has a session, missing heartbeats for
// HeartbeatTimeout cancel its open orders (see expireHeartbeatsLocked).
func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	body, apiKey, _, ok := s.authedBody(w, r)
	if !ok {
		return
	}
	var req struct {
		ID *string `json:"heartbeat_id"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid payload: need {\"heartbeat_id\": …}")
			return
		}
	}
	id := ""
	if req.ID != nil {
		id = *req.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hb, running := s.heartbeats[apiKey]
	if id != "" && (!running || id != hb.id) {
		writeError(w, http.StatusBadRequest, "Invalid heartbeat id")
		return
	}
	s.hbSeq++
	hb = heartbeat{id: fmt.Sprintf("hb-%d", s.hbSeq), last: s.now()}
	s.heartbeats[apiKey] = hb
	writeJSON(w, http.StatusOK, map[string]string{"heartbeat_id": hb.id})
}

// expireHeartbeatsLocked cancels the open orders of every API key whose heartbeats stopped
// for longer than the timeout, and ends its session. s.mu must be held. It runs on every
// request and on CheckHeartbeats.
func (s *Server) expireHeartbeatsLocked() {
	now := s.now()
	for key, hb := range s.heartbeats {
		if now.Sub(hb.last) <= s.hbTimeout {
			continue
		}
		delete(s.heartbeats, key)
		n := 0
		for _, o := range s.orders {
			if o.Owner == key && o.Status == statusLive {
				o.Status = statusCanceled
				s.books[o.TokenID].remove(o)
				n++
			}
		}
		s.log.Info("heartbeats stopped; open orders canceled", zap.String("api_key", key), zap.Int("canceled", n))
	}
}

// CheckHeartbeats applies the heartbeat timeout now, as every request does: the open orders of
// a key whose heartbeats stopped are canceled.
func (s *Server) CheckHeartbeats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireHeartbeatsLocked()
}

// Heartbeats reports whether apiKey has a running heartbeat session.
func (s *Server) Heartbeats(apiKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.heartbeats[apiKey]
	return ok
}

// Messages of a paused matching engine.
const (
	msgEngineRestart = "the matching engine is restarting; retry after retry_after_seconds"
	msgCancelOnly    = "the exchange is in cancel-only mode; retry after retry_after_seconds"
)

// Pause makes POST /order refuse every order for d, as the CLOB does while its matching engine
// restarts (status 425, http.StatusTooEarly) or while it is in cancel-only/post-only mode
// (503): the answer carries {"error": …, "retry_after_seconds": n} with the whole seconds left,
// and the order is not placed. Other routes keep working. d <= 0 ends a pause.
func (s *Server) Pause(status int, d time.Duration) error {
	if status != http.StatusTooEarly && status != http.StatusServiceUnavailable {
		return fmt.Errorf("clobsim: pause status %d (valid: 425, 503)", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pausedUntil, s.pauseStatus = s.now().Add(d), status
	return nil
}

// paused answers a POST /order refused by a pause; false when the engine takes orders.
func (s *Server) paused(w http.ResponseWriter) bool {
	s.mu.Lock()
	left := s.pausedUntil.Sub(s.now())
	status := s.pauseStatus
	s.mu.Unlock()
	if left <= 0 {
		return false
	}
	msg := msgEngineRestart
	if status == http.StatusServiceUnavailable {
		msg = msgCancelOnly
	}
	secs := int64((left + time.Second - 1) / time.Second)
	writeJSON(w, status, map[string]any{"error": msg, "retry_after_seconds": secs})
	return true
}
