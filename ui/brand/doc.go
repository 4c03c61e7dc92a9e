// Package brand owns an organisation's branding on its sign-in pages (issue 6): the name and
// logo a page shows (For, Apply), the Content-Security-Policy that lets exactly the logo's origin
// serve images, and the organisation's stylesheet with its primary colour (Stylesheet, at
// /o/{slug}/brand.css).
//
// The colour travels in a stylesheet, not in the page: the CSP (internal/httpx) allows styles
// from 'self' only, never inline. The stylesheet sets the --accent variable of style.css, and
// directory.ValidateBranding admits only "#rrggbb" colours that contrast with white, so the
// stylesheet cannot carry anything else. Its URL carries the colour (?v=rrggbb), so a change
// of colour is a new URL and the short caching never shows a stale one.
package brand
