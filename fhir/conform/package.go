package conform

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
)

// IGVersion is the version of the CARIN Blue Button IG the package holds.
const IGVersion = "2.0.0"

//go:embed testdata/hl7.fhir.us.carin-bb-2.0.0.tgz
var packageTGZ []byte

// Validator checks resources against the profiles of one IG package. It is
// safe for concurrent use.
type Validator struct {
	profiles map[string]*profile // by canonical URL, without version
	byType   map[string]*profile // the profile Base uses for a resource type
	terms    *terminology
	examples map[string][]byte // package/example file name → content
}

var (
	defaultOnce sync.Once
	defaultV    *Validator
	defaultErr  error
)

// Default returns the Validator of the embedded C4BB 2.0.0 package, read
// once.
func Default() (*Validator, error) {
	defaultOnce.Do(func() { defaultV, defaultErr = Load(packageTGZ) })
	return defaultV, defaultErr
}

// Load reads a FHIR package tarball (.tgz): its StructureDefinitions,
// ValueSets and CodeSystems, and its examples.
func Load(tgz []byte) (*Validator, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("conform: package: %w", err)
	}
	v := &Validator{profiles: map[string]*profile{}, byType: map[string]*profile{},
		terms: newTerminology(), examples: map[string][]byte{}}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("conform: package: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("conform: package %s: %w", h.Name, err)
		}
		if err := v.add(h.Name, data); err != nil {
			return nil, fmt.Errorf("conform: package %s: %w", h.Name, err)
		}
	}
	if len(v.profiles) == 0 {
		return nil, errors.New("conform: package has no StructureDefinition")
	}
	v.terms.resolve()
	return v, nil
}

func (v *Validator) add(name string, data []byte) error {
	if path.Dir(name) == "package/example" {
		v.examples[path.Base(name)] = data
		return nil
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	switch head.ResourceType {
	case "StructureDefinition":
		p, err := parseProfile(data)
		if err != nil {
			return err
		}
		v.profiles[p.url] = p
		// The type's own profile, derived from the base resource or US
		// Core, is what Base checks against; the EOB kinds derive from
		// C4BB-ExplanationOfBenefit, which is the EOB's.
		if !strings.HasPrefix(p.base, carinBase) {
			v.byType[p.typ] = p
		}
	case "ValueSet":
		return v.terms.addValueSet(data)
	case "CodeSystem":
		return v.terms.addCodeSystem(data)
	}
	return nil
}

// Profiles returns the canonical URLs (without version) of the profiles the
// package defines.
func (v *Validator) Profiles() []string {
	out := make([]string, 0, len(v.profiles))
	for u := range v.profiles {
		out = append(out, u)
	}
	return out
}

// Examples returns the package's example resources by file name.
func (v *Validator) Examples() map[string][]byte { return v.examples }
