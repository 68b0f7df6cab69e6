package conform

import (
	"encoding/json"
	"strings"
)

// terminology is the package's ValueSets and CodeSystems, plus the few core
// value sets of core.go, expanded to the codes each value set admits.
type terminology struct {
	codeSystems map[string]map[string]bool // complete CodeSystems: url → codes
	raw         map[string]rawValueSet     // ValueSets by url, unexpanded
	sets        map[string]*valueSet       // expanded, by url
}

type rawValueSet struct {
	URL     string `json:"url"`
	Compose struct {
		Include []struct {
			System   string                  `json:"system"`
			Concept  []struct{ Code string } `json:"concept"`
			Filter   []json.RawMessage       `json:"filter"`
			ValueSet []string                `json:"valueSet"`
		} `json:"include"`
	} `json:"compose"`
}

// valueSet is the codes a value set admits. A system mapped to nil admits
// any code: its content is not in the package (an external code system
// such as NUBC, NCPDP or CPT), so only the system is checked.
type valueSet struct {
	url     string
	systems map[string]map[string]bool
}

func newTerminology() *terminology {
	return &terminology{codeSystems: map[string]map[string]bool{}, raw: map[string]rawValueSet{}, sets: map[string]*valueSet{}}
}

func (t *terminology) addValueSet(data []byte) error {
	var vs rawValueSet
	if err := json.Unmarshal(data, &vs); err != nil {
		return err
	}
	t.raw[vs.URL] = vs
	return nil
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

func (t *terminology) addCodeSystem(data []byte) error {
	var cs struct {
		URL     string    `json:"url"`
		Content string    `json:"content"`
		Concept []concept `json:"concept"`
	}
	if err := json.Unmarshal(data, &cs); err != nil {
		return err
	}
	if cs.Content != "complete" {
		return nil
	}
	codes := map[string]bool{}
	var walk func([]concept)
	walk = func(cs []concept) {
		for _, c := range cs {
			codes[c.Code] = true
			walk(c.Concept)
		}
	}
	walk(cs.Concept)
	t.codeSystems[cs.URL] = codes
	return nil
}

// resolve expands every value set, the core ones included.
func (t *terminology) resolve() {
	for url, codes := range coreValueSets {
		vs := &valueSet{url: url, systems: map[string]map[string]bool{}}
		for _, c := range codes {
			if vs.systems[c.system] == nil && c.code != "" {
				vs.systems[c.system] = map[string]bool{}
			}
			if c.code == "" {
				vs.systems[c.system] = nil
				continue
			}
			vs.systems[c.system][c.code] = true
		}
		t.sets[url] = vs
	}
	for url := range t.raw {
		t.expand(url, map[string]bool{})
	}
}

func (t *terminology) expand(url string, busy map[string]bool) *valueSet {
	if vs, ok := t.sets[url]; ok {
		return vs
	}
	raw, ok := t.raw[url]
	if !ok || busy[url] {
		return nil
	}
	busy[url] = true
	vs := &valueSet{url: url, systems: map[string]map[string]bool{}}
	for _, inc := range raw.Compose.Include {
		for _, ref := range inc.ValueSet {
			if sub := t.expand(stripVersion(ref), busy); sub != nil {
				vs.merge(sub)
			}
		}
		if inc.System == "" {
			continue
		}
		switch {
		case len(inc.Concept) > 0:
			if _, any := vs.systems[inc.System]; any && vs.systems[inc.System] == nil {
				continue
			}
			if vs.systems[inc.System] == nil {
				vs.systems[inc.System] = map[string]bool{}
			}
			for _, c := range inc.Concept {
				vs.systems[inc.System][c.Code] = true
			}
		case len(inc.Filter) == 0 && t.codeSystems[inc.System] != nil:
			if vs.systems[inc.System] == nil {
				vs.systems[inc.System] = map[string]bool{}
			}
			for c := range t.codeSystems[inc.System] {
				vs.systems[inc.System][c] = true
			}
		default: // the whole of a system whose content is elsewhere
			vs.systems[inc.System] = nil
		}
	}
	t.sets[url] = vs
	return vs
}

func (vs *valueSet) merge(o *valueSet) {
	for sys, codes := range o.systems {
		if codes == nil {
			vs.systems[sys] = nil
			continue
		}
		if cur, ok := vs.systems[sys]; ok && cur == nil {
			continue
		}
		if vs.systems[sys] == nil {
			vs.systems[sys] = map[string]bool{}
		}
		for c := range codes {
			vs.systems[sys][c] = true
		}
	}
}

// lookup returns the expanded value set of a binding's canonical.
func (t *terminology) lookup(url string) *valueSet { return t.sets[stripVersion(url)] }

// member reports whether system|code is in vs; systemOnly says the code
// itself could not be checked. An empty system matches a value set of one
// system (a primitive code element has none).
func (vs *valueSet) member(system, code string) (ok, systemOnly bool) {
	if system == "" {
		for _, codes := range vs.systems {
			if codes == nil {
				return true, true
			}
			if codes[code] {
				return true, false
			}
		}
		return false, false
	}
	codes, known := vs.systems[system]
	if !known {
		return false, false
	}
	if codes == nil {
		return true, true
	}
	return codes[code], false
}

// systemNames lists the systems vs admits, for messages.
func (vs *valueSet) systemNames() string {
	names := make([]string, 0, len(vs.systems))
	for s := range vs.systems {
		names = append(names, s)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}

func stripVersion(url string) string {
	if i := strings.IndexByte(url, '|'); i >= 0 {
		return url[:i]
	}
	return url
}
