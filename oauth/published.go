package oauth

import "time"

// SMARTConfiguration returns the document served at
// {fhir}/.well-known/smart-configuration, for pages that document it (the
// developer portal), so they show exactly what clients discover.
func (s *Server) SMARTConfiguration() map[string]any { return s.smartConfiguration() }

// Lifetimes are how long what the server issues lasts, after defaults.
type Lifetimes struct {
	AccessToken, RefreshToken, AuthCode, OneTimeGrant time.Duration
	// GrantMonths is how long a time-limited grant lasts.
	GrantMonths int
}

// Lifetimes returns the lifetimes in force.
func (s *Server) Lifetimes() Lifetimes {
	return Lifetimes{AccessToken: s.cfg.AccessTokenLifespan, RefreshToken: s.cfg.RefreshTokenLifespan,
		AuthCode: s.cfg.AuthCodeLifespan, OneTimeGrant: OneTimeLifespan, GrantMonths: s.cfg.GrantMonths}
}
