package conform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Issue is one way a resource fails a profile (or base FHIR).
type Issue struct {
	// Profile is the canonical URL checked against, "" for base FHIR.
	Profile string
	// Path is where, as FHIRPath with indexes: "ExplanationOfBenefit.item[0].adjudication".
	Path string
	// Msg says what is wrong.
	Msg string
}

func (i Issue) String() string {
	if i.Profile == "" {
		return i.Path + ": " + i.Msg
	}
	return i.Path + ": " + i.Msg + " (" + profileName(i.Profile) + ")"
}

func profileName(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// mode is what a walk checks.
type mode int

const (
	profileMode mode = iota // the profile's constraints
	baseMode                // base FHIR only: base cardinality, formats, known elements
)

// checker is one walk of one resource against one profile.
type checker struct {
	v       *Validator
	p       *profile
	mode    mode
	issues  []Issue
	seen    map[*element]bool // elements present, for Coverage
	visited map[string]bool   // de-duplicates issues found twice (base and slice)
}

func (c *checker) fail(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := path + "\x00" + msg
	if c.visited[key] {
		return
	}
	c.visited[key] = true
	prof := c.p.url
	if c.mode == baseMode {
		prof = ""
	}
	c.issues = append(c.issues, Issue{Profile: prof, Path: path, Msg: msg})
}

// Validate checks raw against every profile its meta.profile declares. A
// declared profile must carry a version ("…|2.0.0"); one the package does
// not define is an Issue; a resource declaring none is one too.
func (v *Validator) Validate(raw []byte) ([]Issue, error) { return v.validate(raw, nil) }

// validate is Validate, recording the elements present for each profile
// in the map seen returns (when seen is not nil).
func (v *Validator) validate(raw []byte, seen func(*profile) map[*element]bool) ([]Issue, error) {
	res, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	typ, _ := res["resourceType"].(string)
	declared := declaredProfiles(res)
	if len(declared) == 0 {
		return []Issue{{Path: typ + ".meta.profile", Msg: "declares no profile"}}, nil
	}
	var issues []Issue
	for _, d := range declared {
		url, version, _ := strings.Cut(d, "|")
		p := v.profiles[url]
		switch {
		case p == nil:
			issues = append(issues, Issue{Path: typ + ".meta.profile", Msg: fmt.Sprintf("%q is not a profile of the package", d)})
			continue
		case version == "":
			issues = append(issues, Issue{Profile: url, Path: typ + ".meta.profile", Msg: fmt.Sprintf("%q has no version: declare %s|%s", d, url, p.version)})
		case version != p.version:
			issues = append(issues, Issue{Profile: url, Path: typ + ".meta.profile", Msg: fmt.Sprintf("%q: this package is version %s", d, p.version)})
		}
		var elems map[*element]bool
		if seen != nil {
			elems = seen(p)
		}
		issues = append(issues, v.check(p, res, profileMode, elems)...)
	}
	return issues, nil
}

// Base checks raw against base FHIR R4 as the package's snapshots state it
// (base cardinality, primitive formats, known elements, JSON types), for
// the resource types a C4BB profile covers. handled is false for other
// types: then nothing was checked.
func (v *Validator) Base(raw []byte) (issues []Issue, handled bool, err error) {
	res, err := decodeObject(raw)
	if err != nil {
		return nil, false, err
	}
	typ, _ := res["resourceType"].(string)
	p := v.byType[typ]
	if p == nil {
		return nil, false, nil
	}
	return v.check(p, res, baseMode, nil), true, nil
}

func (v *Validator) check(p *profile, res map[string]any, m mode, seen map[*element]bool) []Issue {
	c := &checker{v: v, p: p, mode: m, seen: seen, visited: map[string]bool{}}
	if typ, _ := res["resourceType"].(string); typ != p.typ {
		c.fail(p.typ, "resourceType is %q, the profile is of %s", typ, p.typ)
		return c.issues
	}
	c.object(res, p.root, p.typ, true)
	if m == profileMode {
		c.invariants(res)
	}
	return c.issues
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("conform: not a JSON object: %w", err)
	}
	return res, nil
}

func declaredProfiles(res map[string]any) []string {
	meta, _ := res["meta"].(map[string]any)
	list, _ := meta["profile"].([]any)
	var out []string
	for _, p := range list {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// value is one occurrence of an element in the JSON, with its type for a
// choice element.
type value struct {
	v    any // nil when only the primitive's "_name" extension is there
	typ  string
	path string
}

// min and max of e in the current mode.
func (c *checker) card(e *element) (int, int) {
	if c.mode == baseMode {
		return e.baseMin, e.baseMax
	}
	return e.min, e.max
}

// object checks the children of e in obj.
func (c *checker) object(obj map[string]any, e *element, path string, root bool) {
	used := map[string]bool{}
	if root {
		used["resourceType"] = true
	}
	for _, ch := range e.children {
		vals := c.values(obj, ch, path, used)
		lo, hi := c.card(ch)
		c.cardinality(path+"."+ch.name, len(vals), lo, hi)
		if len(vals) > 0 && c.seen != nil {
			c.seen[ch] = true
		}
		for _, val := range vals {
			c.value(val, ch)
		}
		if c.mode == profileMode && len(ch.slices) > 0 {
			c.slices(vals, ch, path+"."+ch.name)
		}
	}
	if len(e.children) == 0 {
		return
	}
	for k := range obj {
		if !used[k] && k != "fhir_comments" {
			c.fail(path+"."+k, "unknown element")
		}
	}
}

func (c *checker) cardinality(path string, n, lo, hi int) {
	switch {
	case n < lo:
		c.fail(path, "minimum cardinality %d, found %d", lo, n)
	case hi >= 0 && n > hi:
		c.fail(path, "maximum cardinality %d, found %d", hi, n)
	}
}

// values finds the occurrences of ch in obj, marking the keys used.
func (c *checker) values(obj map[string]any, ch *element, path string, used map[string]bool) []value {
	type key struct{ name, typ string }
	var keys []key
	if base, ok := strings.CutSuffix(ch.name, "[x]"); ok {
		for _, t := range ch.types {
			keys = append(keys, key{base + upperFirst(typeName(t.Code)), t.Code})
		}
		if c.mode == baseMode { // a profile may narrow the types base FHIR allows
			for k := range obj {
				if rest, ok := strings.CutPrefix(strings.TrimPrefix(k, "_"), base); ok && rest != "" && unicode.IsUpper(rune(rest[0])) &&
					!slices.ContainsFunc(keys, func(x key) bool { return x.name == base+rest }) {
					keys = append(keys, key{base + rest, lowerPrimitive(rest)})
				}
			}
		}
	} else {
		typ := ""
		if len(ch.types) == 1 {
			typ = ch.types[0].Code
		}
		keys = append(keys, key{ch.name, typ})
	}
	var out []value
	for _, k := range keys {
		raw, has := obj[k.name]
		_, ext := obj["_"+k.name]
		used[k.name], used["_"+k.name] = has || used[k.name], ext || used["_"+k.name]
		if !has && !ext {
			continue
		}
		p := path + "." + k.name
		list, isArray := raw.([]any)
		switch {
		case !has:
			out = append(out, value{typ: k.typ, path: p})
		case isArray:
			if ch.baseMax == 1 {
				c.fail(p, "is an array, but has at most one value")
			}
			for i, item := range list {
				out = append(out, value{v: item, typ: k.typ, path: p + "[" + strconv.Itoa(i) + "]"})
			}
		default:
			if ch.baseMax != 1 && ch.baseMax != 0 {
				c.fail(p, "is not an array, but may repeat")
			}
			out = append(out, value{v: raw, typ: k.typ, path: p})
		}
	}
	return out
}

// typeName is the JSON suffix of a type code: System.String is the id's.
func typeName(code string) string {
	if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return "String"
	}
	return code
}

// lowerPrimitive is the type code of a choice suffix: "Date" is date,
// "Quantity" stays Quantity.
func lowerPrimitive(suffix string) string {
	lower := strings.ToLower(suffix[:1]) + suffix[1:]
	if isPrimitive(lower) {
		return lower
	}
	return suffix
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// value checks one occurrence against e.
func (c *checker) value(val value, e *element) {
	if val.v == nil {
		return
	}
	if isPrimitive(val.typ) {
		c.primitive(val)
	}
	if c.mode == profileMode {
		if e.fixed != nil && !equalJSON(val.v, e.fixed) {
			c.fail(val.path, "must be exactly %s", compact(e.fixed))
		}
		if e.pattern != nil && !matchesPattern(val.v, e.pattern) {
			c.fail(val.path, "must match the pattern %s", compact(e.pattern))
		}
		if e.binding != nil {
			c.bound(val, e.binding)
		}
		c.reference(val, e)
		c.extension(val, e)
	}
	obj, ok := val.v.(map[string]any)
	if !ok {
		if !isPrimitive(val.typ) && val.typ != "" {
			c.fail(val.path, "must be a JSON object (%s)", val.typ)
		}
		return
	}
	if len(e.children) > 0 {
		c.object(obj, e, val.path, false)
	}
}

// slices assigns every occurrence to the slice its discriminators pick and
// checks each slice's cardinality and content.
func (c *checker) slices(vals []value, e *element, path string) {
	counts := make([]int, len(e.slices))
	for _, val := range vals {
		matched := false
		for i, s := range e.slices {
			if c.inSlice(val, s, e.slicing) {
				counts[i]++
				matched = true
				if c.seen != nil {
					c.seen[s] = true
				}
				c.value(val, s)
				break
			}
		}
		if !matched && e.slicing != nil && e.slicing.Rules == "closed" {
			c.fail(val.path, "matches no slice of %s, and the slicing is closed", e.id)
		}
	}
	for i, s := range e.slices {
		switch {
		case counts[i] < s.min:
			c.fail(path, "required slice %q: minimum %d, found %d", s.slice, s.min, counts[i])
		case s.max >= 0 && counts[i] > s.max:
			c.fail(path, "slice %q: maximum %d, found %d", s.slice, s.max, counts[i])
		}
	}
}

// inSlice reports whether val belongs to slice s by every discriminator.
func (c *checker) inSlice(val value, s *element, sl *slicing) bool {
	if sl == nil || len(sl.Discriminator) == 0 {
		return false
	}
	for _, d := range sl.Discriminator {
		if !c.discriminates(val, s, d) {
			return false
		}
	}
	return true
}

func (c *checker) discriminates(val value, s *element, d discriminator) bool {
	if d.Type == "type" {
		return slices.ContainsFunc(s.types, func(t elementType) bool { return t.Code == val.typ })
	}
	target, got := s, val.v
	if d.Path != "$this" {
		for _, step := range strings.Split(d.Path, ".") {
			obj, _ := got.(map[string]any)
			got = obj[step]
			if target != nil {
				target = target.child(step)
			}
		}
	}
	switch {
	case target != nil && target.fixed != nil:
		return equalJSON(got, target.fixed)
	case target != nil && target.pattern != nil:
		return matchesPattern(got, target.pattern)
	case d.Path == "url" && len(s.types) == 1 && len(s.types[0].Profile) == 1:
		// an extension slice: its url is its type's profile
		return got == s.types[0].Profile[0]
	case target != nil && target.binding != nil:
		vs := c.v.terms.lookup(target.binding.ValueSet)
		return vs != nil && codeIn(got, vs)
	}
	return false
}

// codeIn reports whether a CodeableConcept or Coding has a code of vs.
func codeIn(v any, vs *valueSet) bool {
	for _, cd := range codings(v) {
		if ok, _ := vs.member(cd.system, cd.code); ok {
			return true
		}
	}
	return false
}

type coding struct{ system, code string }

// codings are the codings of a CodeableConcept, or a Coding itself.
func codings(v any) []coding {
	obj, _ := v.(map[string]any)
	if obj == nil {
		return nil
	}
	if list, ok := obj["coding"].([]any); ok {
		var out []coding
		for _, item := range list {
			out = append(out, codings(item)...)
		}
		return out
	}
	sys, _ := obj["system"].(string)
	code, _ := obj["code"].(string)
	if code == "" {
		return nil
	}
	return []coding{{sys, code}}
}

// bound checks a required binding.
func (c *checker) bound(val value, b *binding) {
	vs := c.v.terms.lookup(b.ValueSet)
	if vs == nil {
		c.fail(val.path, "binding to %s: value set not available", b.ValueSet)
		return
	}
	if s, ok := val.v.(string); ok { // code, string, uri
		if in, _ := vs.member("", s); !in {
			c.fail(val.path, "code %q is not in %s", s, b.ValueSet)
		}
		return
	}
	cds := codings(val.v)
	for _, cd := range cds {
		if in, _ := vs.member(cd.system, cd.code); in {
			return
		}
	}
	if len(cds) == 0 {
		c.fail(val.path, "has no coding from %s (required binding)", b.ValueSet)
		return
	}
	c.fail(val.path, "no coding is in %s (required binding; systems allowed: %s; for code systems whose content is not in the IG package only the system is checked)",
		b.ValueSet, vs.systemNames())
}

// reference checks that a relative reference names a type the element may
// point at.
func (c *checker) reference(val value, e *element) {
	if val.typ != "Reference" {
		return
	}
	obj, _ := val.v.(map[string]any)
	ref, _ := obj["reference"].(string)
	typ, _, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(ref, "://") || strings.HasPrefix(ref, "#") {
		return
	}
	var allowed []string
	for _, t := range e.types {
		for _, tp := range t.TargetProfile {
			allowed = append(allowed, c.v.profileType(tp))
		}
	}
	if len(allowed) > 0 && !slices.Contains(allowed, typ) && !slices.Contains(allowed, "Resource") {
		c.fail(val.path+".reference", "%q: may only name %s", ref, strings.Join(allowed, " or "))
	}
}

// profileType is the resource type a (target) profile constrains.
func (v *Validator) profileType(url string) string {
	url = stripVersion(url)
	if p := v.profiles[url]; p != nil {
		return p.typ
	}
	name := profileName(url)
	if n, ok := strings.CutPrefix(name, "us-core-"); ok {
		return upperFirst(n)
	}
	return name
}

func equalJSON(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// normalize turns json.Number into float64 so that profile values (decoded
// without UseNumber) and resource values compare.
func normalize(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// matchesPattern reports whether v has everything pattern has (FHIR
// pattern[x]: objects by their keys, arrays item by item in any order).
func matchesPattern(v, pattern any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			if !matchesPattern(obj[k], pv) {
				return false
			}
		}
		return true
	case []any:
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for _, pv := range p {
			if !slices.ContainsFunc(list, func(x any) bool { return matchesPattern(x, pv) }) {
				return false
			}
		}
		return true
	}
	return equalJSON(v, pattern)
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
