package catalog

// Category is a group of types a member shares or keeps back together: the
// consent page offers one checkbox per category, never one per type, and
// says in plain words what each reveals.
type Category string

// The data categories, as the consent page names them.
const (
	// CategoryAboutYou: who the member is (name, birth date, address) and
	// the people named on their coverage.
	CategoryAboutYou Category = "about-you"
	// CategoryClaims: claims and payments, which reveal diagnoses,
	// medicines, doctors, visits and costs.
	CategoryClaims Category = "claims"
	// CategoryCoverage: the member's insurance coverage.
	CategoryCoverage Category = "coverage"
	// CategoryClinical: clinical records (conditions, tests, allergies,
	// immunizations, procedures).
	CategoryClinical Category = "clinical"
	// CategoryPharmacy: medicines and drug products.
	CategoryPharmacy Category = "pharmacy"
	// CategoryDirectory: the plan's provider directory (organizations,
	// doctors, their roles and places of care).
	CategoryDirectory Category = "directory"
)

// Categories lists every category in the order the consent page shows
// them. A category no served type belongs to is not shown.
func Categories() []Category {
	return []Category{CategoryAboutYou, CategoryClaims, CategoryCoverage, CategoryClinical, CategoryPharmacy, CategoryDirectory}
}
