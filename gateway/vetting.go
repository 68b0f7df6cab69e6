package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VettingConfig is how the plan reviews third-party apps.
type VettingConfig struct {
	// DisableRegistration turns the RFC 7591 registration endpoint off
	// (GATEWAY_DYNAMIC_REGISTRATION=false): apps are then registered by
	// admins only. Default: on.
	DisableRegistration bool
	// AutoApprove approves, as the policy actor, every app whose automated
	// criteria all pass when it registers or an update sends it back to
	// review (GATEWAY_AUTO_APPROVE). Default: off; admins approve.
	AutoApprove bool
	// PolicyWatch is how often the policy watch fetches every app's
	// privacy policy and terms (GATEWAY_POLICY_WATCH_INTERVAL, a Go
	// duration; "off" or 0 turns it off). Zero takes
	// DefaultPolicyWatch; negative is off.
	PolicyWatch time.Duration
}

// DefaultPolicyWatch is how often the policy watch runs unless told.
const DefaultPolicyWatch = 24 * time.Hour

// parse reads the vetting settings, reporting every bad one.
func (v *VettingConfig) parse(getenv func(string) string) []error {
	var errs []error
	for env, to := range map[string]*bool{"GATEWAY_DYNAMIC_REGISTRATION": nil, "GATEWAY_AUTO_APPROVE": &v.AutoApprove} {
		s := getenv(env)
		if s == "" {
			continue
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", env, s))
			continue
		}
		if to == nil {
			v.DisableRegistration = !b
		} else {
			*to = b
		}
	}
	if s := getenv("GATEWAY_POLICY_WATCH_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		switch {
		case strings.EqualFold(s, "off") || (err == nil && d == 0):
			v.PolicyWatch = -1
		case err != nil || d < time.Minute:
			errs = append(errs, fmt.Errorf("GATEWAY_POLICY_WATCH_INTERVAL: %q is not off or a duration of a minute or more such as 24h", s))
		default:
			v.PolicyWatch = d
		}
	}
	return errs
}
