// Package ui owns what people see: the embedded HTML templates (a shared base page plus one
// template per page), the static files (CSS, the small scripts), and typed render methods that
// render into a buffer first so a template error never sends half a page. Handlers in other
// packages decide what to show; this package only shows it.
package ui
