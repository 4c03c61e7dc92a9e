package admin

import (
	"errors"
	"io"
	"net/http"
	"strings"

	adm "github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/roster"
	"github.com/portcullis-id/portcullis/ui"
)

// maxCSV bounds an uploaded CSV file (the server's request limit is 1 MiB in all).
const maxCSV = 900 << 10

type importPage struct {
	ui.Base
	Prefix    string
	Mode      string
	SendEmail bool
	Error     string
	Problems  []adm.Problem
	// The preview: what the file would change, and the file itself to apply it.
	Preview bool
	Summary []string
	CSV     string
	// The result of applying it.
	Done   bool
	Result adm.ImportResult
}

func (h *Handler) importForm(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, view, false)
	if c == nil {
		return
	}
	h.UI.Render(w, r, http.StatusOK, "admin_import", importPage{Base: h.base(c, "Import users", "users"), Prefix: c.prefix,
		Mode: string(roster.ModeJoiners), SendEmail: true})
}

// importPreview reads the uploaded file and shows what importing it would change (a dry run:
// nothing changes), with a form that applies the same file.
func (h *Handler) importPreview(w http.ResponseWriter, r *http.Request) {
	// The CSRF token is a form field of the multipart body, which Check reads once it is parsed.
	if err := r.ParseMultipartForm(maxCSV); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.UI.Error(w, r, http.StatusBadRequest, "Not imported", "The upload could not be read; files up to 900 KB are accepted.", "")
		return
	}
	c := h.guard(w, r, change, false)
	if c == nil {
		return
	}
	p := importPage{Base: h.base(c, "Import users", "users"), Prefix: c.prefix, Mode: r.PostFormValue("mode"),
		SendEmail: r.PostFormValue("send_email") == "true"}
	file, _, err := r.FormFile("file")
	if err != nil {
		p.Error = "Choose a CSV file to import."
		h.UI.Render(w, r, http.StatusBadRequest, "admin_import", p)
		return
	}
	defer file.Close()
	body, err := io.ReadAll(io.LimitReader(file, maxCSV+1))
	if err != nil || len(body) > maxCSV {
		p.Error = "The file is too large; files up to 900 KB are accepted."
		h.UI.Render(w, r, http.StatusBadRequest, "admin_import", p)
		return
	}
	p.CSV = string(body)
	h.runImport(c, p, true)
}

// importApply applies the file the preview showed. It may give roles (admin among them), so it
// needs a fresh passkey check like any role change.
func (h *Handler) importApply(w http.ResponseWriter, r *http.Request) {
	c := h.guard(w, r, sensitive, false)
	if c == nil {
		return
	}
	p := importPage{Base: h.base(c, "Import users", "users"), Prefix: c.prefix, Mode: r.PostFormValue("mode"),
		SendEmail: r.PostFormValue("send_email") == "true", CSV: r.PostFormValue("csv")}
	h.runImport(c, p, false)
}

func (h *Handler) runImport(c *call, p importPage, dryRun bool) {
	res, err := h.Service.ImportCSV(c.ctx(), c.actor, strings.NewReader(p.CSV),
		adm.Import{Mode: roster.Mode(p.Mode), DryRun: dryRun, SendEmail: p.SendEmail})
	if err != nil {
		ae, ok := adm.AsError(err)
		if !ok || (ae.Kind != adm.KindInvalid && ae.Kind != adm.KindConflict) {
			h.failed(c, "import", err)
			return
		}
		p.Error, p.Problems, p.CSV = problemText(ae), ae.Problems, ""
		h.UI.Render(c.w, c.r, http.StatusBadRequest, "admin_import", p)
		return
	}
	p.Summary, p.Result = res.Summary, res
	if dryRun {
		p.Preview = true
	} else {
		p.Done, p.CSV = true, ""
	}
	h.UI.Render(c.w, c.r, http.StatusOK, "admin_import", p)
}
