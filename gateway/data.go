package gateway

import (
	"log/slog"

	"github.com/patientaccess/gateway/fhir"
)

// loadFHIRData builds the embedded FHIR source: the demo data in demo mode
// and the files under DataDir, read and checked together (a Type/id in
// both is a problem), then made visible at once. Any problem, in any file,
// fails the start: the gateway never serves half the data.
func loadFHIRData(cfg Config, logger *slog.Logger) (*fhir.MemorySource, *fhir.DataSummary, error) {
	src := fhir.NewMemorySource()
	var sources []fhir.DataSource
	if cfg.Demo {
		sources = append(sources, fhir.DemoData())
	}
	if cfg.DataDir != "" {
		sources = append(sources, fhir.DirData(cfg.DataDir))
	}
	if len(sources) == 0 {
		return src, nil, nil
	}
	d, err := fhir.ReadData(sources...)
	if err != nil {
		return nil, nil, err // a *fhir.DataError says what it is about
	}
	if err := src.Load(d); err != nil {
		return nil, nil, err
	}
	s := d.Summary
	logger.Info("loaded FHIR data", "resources", s.Resources, "files", s.Files, "patients", s.Patients,
		"demo", cfg.Demo, "data_dir", cfg.DataDir != "")
	if len(s.Orphans) > 0 {
		logger.Warn("FHIR data: member data of patients with no Patient resource", "patients", len(s.Orphans))
	}
	return src, &s, nil
}
