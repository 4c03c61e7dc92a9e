package account

import (
	"context"
	"net/http"
	"time"

	"github.com/portcullis-id/portcullis/authn/handoff"
)

// RecentHandoffs lists the sign-ins that added a passkey from a new device (authn/handoff), for
// the notice on the account page.
type RecentHandoffs interface {
	RecentForUser(ctx context.Context, userID string, since time.Time) ([]handoff.Completed, error)
}

// handoffNoticeWindow is how long the page mentions a passkey added from a new device.
const handoffNoticeWindow = 30 * 24 * time.Hour

// addedView is one "a passkey was added from a new device" notice.
type addedView struct {
	When      time.Time
	Device    string
	IP        string
	PasskeyID string
}

func (h *Handler) recentHandoffs(r *http.Request, userID string) ([]addedView, error) {
	if h.Handoffs == nil {
		return nil, nil
	}
	done, err := h.Handoffs.RecentForUser(r.Context(), userID, h.now().Add(-handoffNoticeWindow))
	if err != nil {
		return nil, err
	}
	out := make([]addedView, 0, len(done))
	for _, c := range done {
		out = append(out, addedView{When: c.CompletedAt, Device: Device(c.UserAgent), IP: c.IP, PasskeyID: c.PasskeyID})
	}
	return out, nil
}
