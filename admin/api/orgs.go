package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/policy"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	p, ok := page(w, r)
	if !ok {
		return
	}
	orgs, next, err := h.Service.ListOrgs(r.Context(), a, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, orgs, next, viewOrg)
}

type createOrgBody struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b createOrgBody
	if !decode(w, r, &b, false) {
		return
	}
	o, err := h.Service.CreateOrg(r.Context(), a, b.Slug, b.Name)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, viewOrg(o))
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	o, err := h.Service.GetOrg(r.Context(), a, mux.Vars(r)["slug"])
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewOrg(o))
}

func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	o, err := h.Service.Policy(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.PolicyDetails(o.Policy))
}

// policyBody is a change of policy: fields left out keep their value.
type policyBody struct {
	Passkeys       *string         `json:"passkeys"`
	PasswordsEndAt json.RawMessage `json:"passwords_end_at"` // a date or time; null or "none" removes it
	RequireUV      *bool           `json:"require_user_verification"`
	AllowSynced    *bool           `json:"allow_synced_passkeys"`
	AllowedAAGUIDs *[]string       `json:"allowed_aaguids"`
	RemindAfter    *string         `json:"remind_after"`
	RecoveryCodes  *bool           `json:"recovery_codes"`
}

// apply changes p by the fields given, naming the field it cannot read.
func (b policyBody) apply(p *policy.Policy) error {
	if b.Passkeys != nil {
		m, err := policy.ParseMode(*b.Passkeys)
		if err != nil {
			return &admin.Error{Kind: admin.KindInvalid, Code: admin.CodeInvalid, Field: "passkeys", Message: "Use off, optional or mandatory."}
		}
		p.Mode = m
	}
	if len(b.PasswordsEndAt) > 0 {
		end, err := deadline(b.PasswordsEndAt)
		if err != nil {
			return err
		}
		p.PasswordsEndAt = end
	}
	if b.RequireUV != nil {
		p.RequireUV = *b.RequireUV
	}
	if b.AllowSynced != nil {
		p.AllowSynced = *b.AllowSynced
	}
	if b.AllowedAAGUIDs != nil {
		p.AllowedAAGUIDs = *b.AllowedAAGUIDs
	}
	if b.RemindAfter != nil {
		d, err := time.ParseDuration(*b.RemindAfter)
		if err != nil || d < 0 {
			return &admin.Error{Kind: admin.KindInvalid, Code: admin.CodeInvalid, Field: "remind_after",
				Message: "Use a duration such as 72h, or 0s to ask at every sign-in."}
		}
		p.RemindAfter = d
	}
	if b.RecoveryCodes != nil {
		p.RecoveryCodes = *b.RecoveryCodes
	}
	return nil
}

func deadline(raw json.RawMessage) (*time.Time, error) {
	bad := &admin.Error{Kind: admin.KindInvalid, Code: admin.CodeInvalid, Field: "passwords_end_at",
		Message: "Use a date (2027-03-31), an RFC 3339 time, or null for no deadline."}
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, bad
	}
	if v == nil || *v == "" || strings.EqualFold(*v, "none") {
		return nil, nil
	}
	if t, err := time.Parse("2006-01-02", *v); err == nil {
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil {
		return nil, bad
	}
	t = t.UTC()
	return &t, nil
}

type policyChangeView struct {
	Applied  bool           `json:"applied"`
	Policy   map[string]any `json:"policy"`
	Previous map[string]any `json:"previous"`
	Impact   impactView     `json:"impact"`
}

// putPolicy previews (?dry_run=true) or applies a change of the organisation's policy; both
// answer with its impact, so that an admin sees who is affected and how.
func (h *Handler) putPolicy(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	dryRun, ok := boolParam(w, r, "dry_run")
	if !ok {
		return
	}
	var b policyBody
	if !decode(w, r, &b, false) {
		return
	}
	ch, err := h.Service.ChangePolicy(r.Context(), a, b.apply, !dryRun)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, policyChangeView{Applied: ch.Applied, Policy: admin.PolicyDetails(ch.Org.Policy),
		Previous: admin.PolicyDetails(ch.Previous), Impact: viewImpact(ch.Impact)})
}

func (h *Handler) auditFilter(w http.ResponseWriter, r *http.Request) (admin.AuditFilter, bool) {
	q := r.URL.Query()
	f := admin.AuditFilter{UserID: q.Get("user_id"), Action: q.Get("action")}
	var ok bool
	if f.Since, ok = timeParam(w, r, "since"); !ok {
		return f, false
	}
	if f.Until, ok = timeParam(w, r, "until"); !ok {
		return f, false
	}
	return f, true
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	f, ok := h.auditFilter(w, r)
	if !ok {
		return
	}
	p, ok := page(w, r)
	if !ok {
		return
	}
	events, next, err := h.Service.AuditEvents(r.Context(), a, f, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, events, next, viewAudit)
}

// exportAudit streams the matching events as JSON lines (one event per line, newest first).
func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	f, ok := h.auditFilter(w, r)
	if !ok {
		return
	}
	started := false
	enc := json.NewEncoder(w)
	err := h.Service.ExportAudit(r.Context(), a, f, func(e audit.Stored) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
		}
		return enc.Encode(viewAudit(e))
	})
	switch {
	case err != nil && !started:
		fail(w, r, err)
	case err != nil:
		// The status is sent; the cut-off body tells the client, and the log tells us.
		httpx.Logger(r.Context()).Error("audit export", "err", err)
	case !started:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	list, err := h.Service.SigningKeys(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeList(w, list, "", viewKey)
}

type rotateKeysBody struct {
	Alg string `json:"alg"`
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b rotateKeysBody
	if !decode(w, r, &b, true) {
		return
	}
	kids, err := h.Service.RotateKeys(r.Context(), a, b.Alg)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"active": nonNil(kids)})
}

func (h *Handler) adoption(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	ad, err := h.Service.Adoption(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewAdoption(ad))
}
