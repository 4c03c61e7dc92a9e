package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/recovery"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

type recoveryBody struct {
	Delivery     string `json:"delivery"` // "show" (default) or "email"
	ValidFor     string `json:"valid_for"`
	KeepPasskeys bool   `json:"keep_passkeys"`
}

type recoveryView struct {
	UserID          string    `json:"user_id"`
	Delivery        string    `json:"delivery"`
	RecoveryURL     string    `json:"recovery_url,omitempty"` // only when shown: hand it over once
	ExpiresAt       time.Time `json:"expires_at"`
	Emailed         bool      `json:"emailed"`
	PasskeysRemoved int64     `json:"passkeys_removed"`
	SessionsEnded   int       `json:"sessions_ended"`
	TokensRevoked   int64     `json:"tokens_revoked"`
}

// startRecovery is POST /users/{id}/recovery (PRODUCT.md journey 5): the user's passkeys (unless
// kept), sessions and tokens are revoked and a single-use recovery link is shown or emailed.
func (h *Handler) startRecovery(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b recoveryBody
	if !decode(w, r, &b, true) {
		return
	}
	validFor, ok := duration(w, "valid_for", b.ValidFor)
	if !ok {
		return
	}
	if b.Delivery == "" {
		b.Delivery = recovery.DeliverShow
	}
	st, err := h.Recoveries.Start(r.Context(), a, mux.Vars(r)["id"],
		admin.RecoveryRequest{Delivery: b.Delivery, ValidFor: validFor, KeepPasskeys: b.KeepPasskeys})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, recoveryView{UserID: st.User.ID, Delivery: st.Delivery, RecoveryURL: st.URL,
		ExpiresAt: st.ExpiresAt, Emailed: st.Emailed, PasskeysRemoved: st.PasskeysRemoved,
		SessionsEnded: st.SessionsEnded, TokensRevoked: st.TokensRevoked})
}
