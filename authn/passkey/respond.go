package passkey

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// WriteRegistrationOptions answers a browser's "add a passkey" request: it begins a registration
// for user with begin (a Service's BeginRegistration), binds the ceremony to the browser with
// setCeremony (a ceremony cookie's Set) and writes {"publicKey": options} for the page's script.
// Every page that adds a passkey (enrollment, recovery, the account page, the new device of a
// handoff, the prompt after a password) answers the same way.
func WriteRegistrationOptions(w http.ResponseWriter, r *http.Request, user directory.User,
	begin func(context.Context, directory.User) ([]byte, string, error), setCeremony func(http.ResponseWriter, string)) {
	opts, ceremony, err := begin(r.Context(), user)
	if err != nil {
		httpx.JSONServerError(w, r, "begin passkey registration", err)
		return
	}
	setCeremony(w, ceremony)
	httpx.JSON(w, http.StatusOK, map[string]any{"publicKey": json.RawMessage(opts)})
}
