package conform

import "slices"

// US Core 3.1.1 extensions on the C4BB Patient. Their StructureDefinitions
// are in US Core's package, not C4BB's, so their rules are written here
// from US Core 3.1.1: race and ethnicity carry OMB category codings
// (urn:oid:2.16.840.1.113883.6.238) and a required text; birth sex is one
// of M, F, UNK.
const (
	usCoreRace     = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	usCoreEthnic   = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
	usCoreBirthSex = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
	cdcRace        = "urn:oid:2.16.840.1.113883.6.238"
)

// extension checks an extension whose type names one of the US Core
// profiles above.
func (c *checker) extension(val value, e *element) {
	if val.typ != "Extension" || len(e.types) != 1 || len(e.types[0].Profile) != 1 {
		return
	}
	ext, _ := val.v.(map[string]any)
	switch e.types[0].Profile[0] {
	case usCoreRace, usCoreEthnic:
		c.ombExtension(val.path, ext)
	case usCoreBirthSex:
		code, _ := ext["valueCode"].(string)
		if !slices.Contains([]string{"M", "F", "UNK"}, code) {
			c.fail(val.path+".valueCode", "birth sex must be M, F or UNK")
		}
	}
}

func (c *checker) ombExtension(path string, ext map[string]any) {
	texts := 0
	for _, sub := range list(ext, "extension") {
		switch sub["url"] {
		case "text":
			if s, ok := sub["valueString"].(string); ok && s != "" {
				texts++
			}
		case "ombCategory", "detailed":
			cd, _ := sub["valueCoding"].(map[string]any)
			if cd["system"] != cdcRace || cd["code"] == nil {
				c.fail(path+".extension", "%s must be a coding of %s", sub["url"], cdcRace)
			}
		default:
			c.fail(path+".extension", "unknown sub-extension %v", sub["url"])
		}
	}
	if texts != 1 {
		c.fail(path, "needs exactly one text sub-extension, found %d", texts)
	}
}
