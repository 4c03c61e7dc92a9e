package directory

import (
	"context"
	"sync"
)

// orgMemo keeps the organisations one request has read, by id.
type orgMemo struct {
	mu   sync.Mutex
	orgs map[string]Org
}

type orgMemoKey struct{}

// WithOrgMemo returns a context in which organisations read by id are read once: a sign-in step
// asks for its organisation several times (the page, the policy, the passkey checks, the session
// lifetimes), and each read was a query. The memo lives as long as the context (the server gives
// each request its own) and never outlasts it, so a change made elsewhere is seen by the next
// request. A write through a Store with the same context forgets what was kept, and reads made
// inside a transaction are not kept (it may roll back).
func WithOrgMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, orgMemoKey{}, &orgMemo{})
}

func memoOf(ctx context.Context) *orgMemo {
	m, _ := ctx.Value(orgMemoKey{}).(*orgMemo)
	return m
}

func (m *orgMemo) get(id string) (Org, bool) {
	if m == nil {
		return Org{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orgs[id]
	return o, ok
}

func (m *orgMemo) put(o Org) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.orgs == nil {
		m.orgs = map[string]Org{}
	}
	m.orgs[o.ID] = o
}

// forget drops what ctx's memo kept; every write to organisations calls it.
func forget(ctx context.Context) {
	if m := memoOf(ctx); m != nil {
		m.mu.Lock()
		m.orgs = nil
		m.mu.Unlock()
	}
}
