package rplogout

import (
	"context"
	"fmt"
	"net/url"
	"slices"
)

// FrontChannel returns the front-channel logout URIs of the clients that received tokens in
// session sid, for the signed-out page to frame (Front-Channel Logout 1.0 section 3). A client
// that registered frontchannel_logout_session_required gets iss and sid as query parameters
// (section 2). The result is sorted and has no repeats.
func (n *Notifier) FrontChannel(ctx context.Context, sid string) ([]string, error) {
	if sid == "" {
		return nil, nil
	}
	var rows []struct {
		URI             string `gorm:"column:frontchannel_logout_uri"`
		SessionRequired bool   `gorm:"column:frontchannel_logout_session_required"`
	}
	err := n.DB.Conn(ctx).Raw(`SELECT DISTINCT c.frontchannel_logout_uri, c.frontchannel_logout_session_required
		FROM oauth2_tokens t JOIN clients c ON c.id = t.client_id
		WHERE t.session_id = ? AND t.session_id <> '' AND c.frontchannel_logout_uri <> ''`, sid).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find the front-channel logout URIs of a session: %w", err)
	}
	var out []string
	for _, r := range rows {
		u, err := url.Parse(r.URI)
		if err != nil {
			continue // validated on registration; skip rather than fail the sign-out
		}
		if r.SessionRequired {
			q := u.Query()
			q.Set("iss", n.Issuer)
			q.Set("sid", sid)
			u.RawQuery = q.Encode()
		}
		out = append(out, u.String())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
