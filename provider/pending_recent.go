package provider

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
)

// maxRecentPending bounds the process's memory of pending requests (a few hundred bytes each).
// Past it, requests are simply read from the database.
const maxRecentPending = 4096

// recentPending remembers the parameters of the pending requests this process parked, or read
// for a sign-in page.
// A parked request's client, form and expiry never change (only its consent answer does, which
// is not kept here), and every sign-in page reads them: the page, both halves of the passkey
// ceremony. The database stays the authority on whether the request is still there: the resume
// that answers it deletes the row and refuses a request already answered, so a request answered
// by another server process, which this one still remembers, gets no further than it would
// with a stale sign-in page open.
type recentPending struct {
	mu      sync.Mutex
	entries map[string]Pending
}

func (r *recentPending) put(p Pending, now time.Time) {
	p.Consent, p.ConsentUserID = "", ""
	p.Form = cloneForm(p.Form)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[string]Pending{}
	}
	if len(r.entries) >= maxRecentPending {
		for id, e := range r.entries {
			if !now.Before(e.ExpiresAt) {
				delete(r.entries, id)
			}
		}
		if len(r.entries) >= maxRecentPending {
			return
		}
	}
	r.entries[p.ID] = p
}

// get returns a copy (the form is the caller's to change) of a remembered request that has not
// expired.
func (r *recentPending) get(id string, now time.Time) (Pending, bool) {
	r.mu.Lock()
	p, ok := r.entries[id]
	r.mu.Unlock()
	if !ok || !now.Before(p.ExpiresAt) {
		return Pending{}, false
	}
	p.Form = cloneForm(p.Form)
	return p, true
}

func (r *recentPending) forget(id string) {
	r.mu.Lock()
	delete(r.entries, id)
	r.mu.Unlock()
}

func (r *recentPending) forgetExpired(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, e := range r.entries {
		if !now.Before(e.ExpiresAt) {
			delete(r.entries, id)
		}
	}
}

func cloneForm(f url.Values) url.Values {
	out := maps.Clone(f)
	for k, v := range out {
		out[k] = slices.Clone(v)
	}
	return out
}

// Request returns the parameters of a pending request that has not expired (database.ErrNotFound
// otherwise): its client, form and expiry, without the consent answer, which Get reads. The
// sign-in pages use it; it is served from this process's memory when it can be (recentPending).
func (s *PendingStore) Request(ctx context.Context, id string, now time.Time) (Pending, error) {
	if p, ok := s.recent.get(id, now); ok {
		return p, nil
	}
	p, err := s.Get(ctx, id, now)
	if err != nil {
		return Pending{}, err
	}
	if _, inTx := database.TxFrom(ctx); !inTx { // a transaction's view may yet be rolled back
		s.recent.put(p, now)
	}
	p.Consent, p.ConsentUserID = "", ""
	return p, nil
}
