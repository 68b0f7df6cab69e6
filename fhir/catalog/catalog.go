package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patientaccess/gateway/fhir/internal/jscan"
)

// Kind says whose data a resource type holds.
type Kind int

// The kinds of resource type.
const (
	// MemberData types live in one member's Patient compartment: a token
	// sees only its own member's records.
	MemberData Kind = iota + 1
	// Shared types are reference data (organizations, practitioners,
	// locations, drug products) that any member's token may read when its
	// scopes allow the type.
	Shared
)

// ParamKind is a FHIR search parameter type (FHIR R4 search.html).
type ParamKind string

// The search parameter types the gateway evaluates.
const (
	Token     ParamKind = "token"
	Reference ParamKind = "reference"
	Date      ParamKind = "date"
)

// Param is one search parameter of a type.
type Param struct {
	Name string
	Kind ParamKind
	// Path is the element the parameter reads, dot-separated from the
	// resource root ("patient", "careTeam.provider", "meta.lastUpdated"),
	// or several such paths joined by " | " (a FHIRPath union: a resource
	// matches when a value at any of them does). A choice element is
	// named as JSON spells it ("item.servicedDate").
	Path string
	// Targets are the types a reference parameter may point at.
	Targets []string
	// Definition is the canonical URL of the SearchParameter.
	Definition string
}

// Owner is how a member-data record names the member it is about.
type Owner struct {
	// Param is the search parameter that restricts a query to one
	// patient: "_id" for Patient, "patient" for most others.
	Param string
	// Element is the top-level element read from a record to find its
	// patient ("id" for Patient; otherwise a Reference element).
	Element string
}

// Type is everything the gateway knows about one resource type.
type Type struct {
	Name string
	Kind Kind
	// Compartment lists the parameters the FHIR R4 Patient
	// CompartmentDefinition names for the type (empty for types outside
	// the compartment). A test checks them against HL7's definition.
	Compartment []string
	// Owner is the one compartment link the gateway follows: the patient
	// the record is about. Records that name the member only in another
	// role (a performer, a policy holder of someone else's coverage) are
	// not the member's to share. Zero for Shared types.
	Owner Owner
	// Params are the search parameters served besides _id and _lastUpdated.
	Params []Param
	// Includes are the reference parameters _include may follow
	// (FHIR R4 search.html "_include").
	Includes []Param
	// Profiles are the profiles the CapabilityStatement lists as supported.
	Profiles []string
	// Label is the plain-words noun members read for the type on the
	// consent and connected-apps pages.
	Label string
	// Category is the data category the consent page groups the type
	// under: the member ticks or unticks a category, never a type.
	Category Category
	// decode checks that raw JSON decodes as the type (golang-fhir-models).
	decode func([]byte) error
}

// Common are the search parameters every type supports (FHIR R4
// "Parameters for all resources").
var Common = []Param{
	{Name: "_id", Kind: Token, Path: "id", Definition: searchParamBase + "Resource-id"},
	{Name: "_lastUpdated", Kind: Date, Path: "meta.lastUpdated", Definition: searchParamBase + "Resource-lastUpdated"},
}

const searchParamBase = "http://hl7.org/fhir/SearchParameter/"

// Lookup returns the type named name, if the gateway knows it.
func Lookup(name string) (*Type, bool) {
	t, ok := byName[name]
	return t, ok
}

// All returns every known type, in the order the table lists them.
func All() []*Type { return slices.Clone(table) }

// Names returns the names of types, in order.
func Names(types []*Type) []string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	return names
}

// Param returns the search parameter name of t, common ones included.
func (t *Type) Param(name string) (Param, bool) {
	for _, list := range [][]Param{Common, t.Params} {
		if i := slices.IndexFunc(list, func(p Param) bool { return p.Name == name }); i >= 0 {
			return list[i], true
		}
	}
	return Param{}, false
}

// Include returns the reference parameter _include may follow on t.
func (t *Type) Include(name string) (Param, bool) {
	i := slices.IndexFunc(t.Includes, func(p Param) bool { return p.Name == name })
	if i < 0 {
		return Param{}, false
	}
	return t.Includes[i], true
}

// Decode checks that raw decodes as t with golang-fhir-models: the JSON
// shape of every element it knows and the codes of primitive code
// elements. It is decoding, not validation: it ignores unknown elements
// and checks neither required elements nor primitive formats (see
// fhir/intake.go for what intake checks besides).
func (t *Type) Decode(raw []byte) error {
	if err := t.decode(raw); err != nil {
		return fmt.Errorf("invalid %s: %w", t.Name, err)
	}
	return nil
}

// Coding is a code from a code system, written "system|code" in
// configuration and FHIR token searches.
type Coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// String is the token form "system|code".
func (c Coding) String() string { return c.System + "|" + c.Code }

// ParseCoding reads "system|code"; both parts are required.
func ParseCoding(s string) (Coding, error) {
	system, code, ok := strings.Cut(strings.TrimSpace(s), "|")
	if !ok || system == "" || code == "" || strings.Contains(code, "|") {
		return Coding{}, fmt.Errorf("%q: want system|code", s)
	}
	return Coding{System: system, Code: code}, nil
}

// Facts are the few things the gateway reads from every resource it
// serves: what it is, whose it is, and its version.
type Facts struct {
	Type        string
	ID          string
	VersionID   string
	LastUpdated string
	// Patient is the Patient id the record is about, read from the type's
	// Owner element; "" when it names none as a relative "Patient/<id>"
	// reference, for Shared types and for types the catalog does not know.
	Patient string
	// Security are the resource's security labels (meta.security), by
	// which a plan marks sensitive records (42 CFR Part 2, behavioural or
	// reproductive health).
	Security []Coding
}

// Inspect reads a resource's Facts from its raw JSON, in one pass that
// also checks that raw is one JSON value (see InspectNext).
func Inspect(raw []byte) (Facts, error) {
	s := jscan.New(raw)
	f, err := InspectNext(&s)
	if err == nil || !jscan.IsSyntax(err) {
		if end := s.End(); end != nil {
			err = end
		}
	}
	if err != nil {
		return Facts{}, fmt.Errorf("not a FHIR resource: %w", err)
	}
	return f, nil
}

// The members of a resource InspectNext reads (the elements Owner.Element
// may name among them; a test checks every table entry's owner is one).
const (
	memberResourceType = 1 << iota
	memberID
	memberPatient
	memberBeneficiary
	memberSubject
	memberMeta
)

// InspectNext reads the resource at s's position and returns its Facts,
// having read past the whole value and checked its grammar. It reads
// what encoding/json would decode into the facts' fields, but matches
// member names exactly (FHIR's JSON is case-sensitive; encoding/json
// folds case), and refuses a member it reads that appears twice in the
// same object, which readers could take either way. An error that is not
// a jscan.SyntaxError (a member of the wrong type, a duplicate) leaves s
// past the value, so that a caller reading a larger text may go on; after
// a syntax error nothing more can be read.
func InspectNext(s *jscan.Scanner) (Facts, error) {
	var f Facts
	if null, err := s.Null(); null || err != nil {
		return f, err
	}
	if s.Peek() != '{' {
		if err := s.Skip(); err != nil {
			return f, err
		}
		return f, fmt.Errorf("a resource is a JSON object: %w", jscan.ErrType)
	}
	var (
		seen, member       int
		first              error // the first error that is not a syntax error
		patient, ben, subj string
	)
	if err := s.Object(); err != nil {
		return f, err
	}
	for i := 0; ; i++ {
		key, more, err := s.Member(i)
		if err != nil {
			return f, err
		}
		if !more {
			break
		}
		switch string(key) {
		case "resourceType":
			member = memberResourceType
			err = readString(s, &f.Type)
		case "id":
			member = memberID
			err = readString(s, &f.ID)
		case "patient":
			member = memberPatient
			err = readReference(s, &patient)
		case "beneficiary":
			member = memberBeneficiary
			err = readReference(s, &ben)
		case "subject":
			member = memberSubject
			err = readReference(s, &subj)
		case "meta":
			member = memberMeta
			err = readMeta(s, &f)
		default:
			member = 0
			err = s.Skip()
		}
		if err != nil && jscan.IsSyntax(err) {
			return f, err
		}
		if seen&member != 0 && err == nil {
			err = fmt.Errorf("member %q appears twice", key)
		}
		seen |= member
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return Facts{}, first
	}
	t, ok := Lookup(f.Type)
	if !ok || t.Kind != MemberData {
		return f, nil
	}
	switch t.Owner.Element {
	case "id":
		if ValidID(f.ID) {
			f.Patient = f.ID
		}
	case "patient":
		f.Patient = PatientRef(patient)
	case "beneficiary":
		f.Patient = PatientRef(ben)
	case "subject":
		f.Patient = PatientRef(subj)
	}
	return f, nil
}

// readString reads a string member into v; null leaves v as it is, as
// encoding/json does.
func readString(s *jscan.Scanner, v *string) error {
	b, ok, err := s.StringBytes()
	if ok {
		*v = internString(b)
	}
	return err
}

// internString returns b as a string, without allocating for the
// resource type names of the catalog, which every resource carries.
func internString(b []byte) string {
	if t, ok := byName[string(b)]; ok {
		return t.Name
	}
	return string(b)
}

// readReference reads a Reference's reference member.
func readReference(s *jscan.Scanner, ref *string) error {
	return jscan.Members(s, func(key []byte) (int, error) {
		if string(key) == "reference" {
			return 1, readString(s, ref)
		}
		return 0, s.Skip()
	})
}

// readMeta reads meta's versionId, lastUpdated and security.
func readMeta(s *jscan.Scanner, f *Facts) error {
	return jscan.Members(s, func(key []byte) (int, error) {
		switch string(key) {
		case "versionId":
			return 1, readString(s, &f.VersionID)
		case "lastUpdated":
			return 2, readString(s, &f.LastUpdated)
		case "security":
			return 4, readCodings(s, &f.Security)
		}
		return 0, s.Skip()
	})
}

// readCodings reads an array of Codings; null reads as none.
func readCodings(s *jscan.Scanner, list *[]Coding) error {
	switch s.Peek() {
	case 'n':
		*list = nil
	case '[':
		*list = (*list)[:0]
	}
	return jscan.Elements(s, func() error {
		var c Coding
		err := jscan.Members(s, func(key []byte) (int, error) {
			switch string(key) {
			case "system":
				return 1, readString(s, &c.System)
			case "code":
				return 2, readString(s, &c.Code)
			}
			return 0, s.Skip()
		})
		if err == nil || !jscan.IsSyntax(err) {
			*list = append(*list, c)
		}
		return err
	})
}

// PatientRef returns the id of a relative "Patient/<id>" reference, or ""
// for anything else (absolute URLs, other types, malformed ids).
func PatientRef(ref string) string {
	id, ok := strings.CutPrefix(ref, "Patient/")
	if !ok || !ValidID(id) {
		return ""
	}
	return id
}

// ValidID reports whether s matches the FHIR id syntax [A-Za-z0-9\-\.]{1,64}
// (FHIR R4 datatypes, "id").
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
