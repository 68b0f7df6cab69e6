package synth

// Code systems the generated data uses (the systems C4BB 2.0.0 binds).
const (
	thoCS       = "http://terminology.hl7.org/CodeSystem/"
	c4bbCS      = "http://hl7.org/fhir/us/carin-bb/CodeSystem/"
	sysICD10CM  = "http://hl7.org/fhir/sid/icd-10-cm"
	sysICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
	sysCPT      = "http://www.ama-assn.org/go/cpt"
	sysNDC      = "http://hl7.org/fhir/sid/ndc"
	sysNPI      = "http://hl7.org/fhir/sid/us-npi"
	sysTIN      = "urn:oid:2.16.840.1.113883.4.4"
	sysNUCC     = "http://nucc.org/provider-taxonomy"
	sysRevenue  = "https://www.nubc.org/CodeSystem/RevenueCodes"
	sysTOB      = "https://www.nubc.org/CodeSystem/TypeOfBill"
	sysOrigin   = "https://www.nubc.org/CodeSystem/PointOfOrigin"
	sysAdmType  = "https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit"
	sysDischg   = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
	sysPOA      = "https://www.nubc.org/CodeSystem/PresentOnAdmissionIndicator"
	sysMSDRG    = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
	sysPOS      = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
	sysCARC     = "https://x12.org/codes/claim-adjustment-reason-codes"
	sysDAW      = thoCS + "NCPDPDispensedAsWrittenOrProductSelectionCode"
	sysBrandGen = thoCS + "NCPDPBrandGenericIndicator"
	sysRxOrigin = thoCS + "NCPDPPrescriptionOriginCode"
	sysCompound = thoCS + "NCPDPCompoundCode"
	sysReject   = thoCS + "NCPDPRejectCode"
	sysCDT      = "http://www.ada.org/cdt"
	sysTooth    = thoCS + "ADAUniversalToothDesignationSystem"
	sysSurface  = c4bbCS + "C4BBSurfaceCodes"
	sysRace     = "urn:oid:2.16.840.1.113883.6.238"
	planBase    = "https://synthetic-health-plan.example/"
)

// code is a code with its display, from a pool the generator draws from.
type code struct{ code, display string }

// diagnoses are ICD-10-CM codes common on claims.
var diagnoses = []code{
	{"J06.9", "Acute upper respiratory infection, unspecified"},
	{"E11.9", "Type 2 diabetes mellitus without complications"},
	{"I10", "Essential (primary) hypertension"},
	{"M54.50", "Low back pain, unspecified"},
	{"E78.5", "Hyperlipidemia, unspecified"},
	{"J45.909", "Unspecified asthma, uncomplicated"},
	{"K21.9", "Gastro-esophageal reflux disease without esophagitis"},
	{"N39.0", "Urinary tract infection, site not specified"},
	{"R07.9", "Chest pain, unspecified"},
	{"S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"},
	{"Z00.00", "Encounter for general adult medical examination without abnormal findings"},
	{"J18.9", "Pneumonia, unspecified organism"},
	{"I48.91", "Unspecified atrial fibrillation"},
	{"K35.80", "Unspecified acute appendicitis"},
	{"F41.1", "Generalized anxiety disorder"},
}

// procedures are ICD-10-PCS codes of inpatient stays.
var procedures = []code{
	{"0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"},
	{"0SRD0JZ", "Replacement of Left Knee Joint with Synthetic Substitute, Open Approach"},
	{"02703ZZ", "Dilation of Coronary Artery, One Artery, Percutaneous Approach"},
	{"0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach"},
	{"5A1955Z", "Respiratory Ventilation, Greater than 96 Consecutive Hours"},
}

// services are CPT codes of professional and outpatient services, with a
// typical billed amount in cents.
var services = []struct {
	code
	billed Money
}{
	{code{"99213", "Office or other outpatient visit, established patient, low complexity"}, 18500},
	{code{"99214", "Office or other outpatient visit, established patient, moderate complexity"}, 26000},
	{code{"99203", "Office or other outpatient visit, new patient, low complexity"}, 21000},
	{code{"99284", "Emergency department visit, high severity"}, 98000},
	{code{"93000", "Electrocardiogram, routine, with interpretation and report"}, 9500},
	{code{"71046", "Radiologic examination, chest; 2 views"}, 21000},
	{code{"80053", "Comprehensive metabolic panel"}, 6500},
	{code{"85025", "Complete blood count with automated differential"}, 4200},
	{code{"97110", "Therapeutic exercises, each 15 minutes"}, 12000},
	{code{"36415", "Collection of venous blood by venipuncture"}, 2500},
}

// drugs are NDC package codes with a typical cost in cents for 30 days.
var drugs = []struct {
	code
	cost Money
}{
	{code{"0093-7214-01", "Atorvastatin 20 mg oral tablet"}, 1800},
	{code{"0093-1048-01", "Metformin 500 mg oral tablet"}, 900},
	{code{"68180-0513-01", "Lisinopril 10 mg oral tablet"}, 1100},
	{code{"0378-0018-01", "Levothyroxine 50 mcg oral tablet"}, 1500},
	{code{"0093-3109-01", "Amoxicillin 500 mg oral capsule"}, 1300},
	{code{"0069-1530-68", "Apixaban 5 mg oral tablet"}, 52000},
	{code{"0173-0682-20", "Fluticasone/salmeterol inhalation powder"}, 34000},
	{code{"0591-0405-01", "Omeprazole 20 mg delayed-release capsule"}, 1200},
}

// dental are CDT codes with a typical fee in cents.
var dental = []struct {
	code
	fee Money
}{
	{code{"D0120", "Periodic oral evaluation"}, 6500},
	{code{"D1110", "Prophylaxis - adult"}, 11000},
	{code{"D2391", "Resin-based composite - one surface, posterior"}, 19500},
	{code{"D2740", "Crown - porcelain/ceramic"}, 125000},
	{code{"D0274", "Bitewings - four radiographic images"}, 7500},
}

// revenue are NUBC revenue codes of institutional lines.
var revenue = []code{
	{"0110", "Room & board - private"},
	{"0250", "Pharmacy - general"},
	{"0300", "Laboratory - general"},
	{"0320", "Radiology - diagnostic"},
	{"0450", "Emergency room - general"},
	{"0510", "Clinic - general"},
}

// taxonomies are NUCC provider taxonomy codes of practitioners.
var taxonomies = []code{
	{"207Q00000X", "Family Medicine Physician"},
	{"207R00000X", "Internal Medicine Physician"},
	{"208600000X", "Surgery Physician"},
	{"207RC0000X", "Cardiovascular Disease Physician"},
	{"1223G0001X", "General Practice Dentist"},
}

var familyNames = []string{"Rivera", "Nguyen", "Okafor", "Kowalski", "Haddad", "Lindqvist", "Moreau", "Tanaka", "Osei", "Fitzgerald",
	"Castillo", "Petrov", "Abernathy", "Delacroix", "Yamamoto", "Mbeki", "Sorensen", "Quintero", "Brennan", "Varga"}

var givenNames = map[string][]string{
	"female": {"Maria", "Aisha", "Grace", "Lena", "Sofia", "Hannah", "Priya", "Elena", "Chloe", "Naomi"},
	"male":   {"James", "Mateo", "Kwame", "Lukas", "Omar", "Daniel", "Ravi", "Samuel", "Felix", "Tomas"},
}

// towns are synthetic addresses: every one in the fictional plan's area.
var towns = []struct{ city, state, zip string }{
	{"Riverbend", "MA", "01001"}, {"Northfield", "MA", "01360"}, {"Millbrook", "CT", "06001"},
	{"Cedar Falls", "NH", "03031"}, {"Lakeview", "RI", "02801"},
}

// races are OMB race categories (CDC race and ethnicity code system).
var races = []code{
	{"2106-3", "White"}, {"2054-5", "Black or African American"}, {"2028-9", "Asian"},
	{"1002-5", "American Indian or Alaska Native"}, {"2076-8", "Native Hawaiian or Other Pacific Islander"},
}

var ethnicities = []code{{"2186-5", "Not Hispanic or Latino"}, {"2135-2", "Hispanic or Latino"}}
