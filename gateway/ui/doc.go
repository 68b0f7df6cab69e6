// Package ui is the one look of the gateway's member pages (and, later,
// the plan's admin console): the embedded layout and stylesheet, the
// message catalogs (locales/*.json, plus any a plan adds in a directory of
// its own), the plan's branding from configuration, and one typed render
// method per page. Every page is rendered in every language at start-up
// (New), so a template that names a missing message, or a catalog that
// lacks one, stops the gateway before a member sees a broken page.
//
// Pages carry no script and load nothing from another origin (CSP
// default-src 'self'); colours reach the stylesheet through /ui/brand.css,
// generated from the configuration, since inline styles are not allowed.
// The language comes from a session cookie the visible switch sets, else
// from Accept-Language.
//
// It is a leaf: it imports the standard library only, nothing of ours.
package ui
