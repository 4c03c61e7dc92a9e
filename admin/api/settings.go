package api

import (
	"net/http"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// The organisation's branding on its sign-in pages and its password rules (admin/settings.go).

func (h *Handler) getBranding(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	o, err := h.Service.Settings(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.BrandingDetails(o.Branding))
}

// brandingBody is a change of branding: fields left out keep their value, "" removes one.
type brandingBody struct {
	Name          *string `json:"name"`
	LogoURI       *string `json:"logo_uri"`
	PrimaryColour *string `json:"primary_colour"`
}

func (b brandingBody) apply(br *directory.Branding) error {
	if b.Name != nil {
		br.DisplayName = *b.Name
	}
	if b.LogoURI != nil {
		br.LogoURI = *b.LogoURI
	}
	if b.PrimaryColour != nil {
		br.PrimaryColour = *b.PrimaryColour
	}
	return nil
}

func (h *Handler) putBranding(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b brandingBody
	if !decode(w, r, &b, false) {
		return
	}
	o, err := h.Service.ChangeBranding(r.Context(), a, b.apply)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.BrandingDetails(o.Branding))
}

func (h *Handler) getPasswordRules(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	o, err := h.Service.Settings(r.Context(), a)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.PasswordRulesDetails(o.Passwords))
}

type passwordRulesBody struct {
	MinLength *int `json:"min_length"`
}

func (h *Handler) putPasswordRules(w http.ResponseWriter, r *http.Request, a admin.Actor) {
	var b passwordRulesBody
	if !decode(w, r, &b, false) {
		return
	}
	o, err := h.Service.ChangePasswordRules(r.Context(), a, func(p *directory.PasswordRules) error {
		if b.MinLength != nil {
			p.MinLength = *b.MinLength
		}
		return nil
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, admin.PasswordRulesDetails(o.Passwords))
}
