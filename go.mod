module github.com/patientaccess/gateway

go 1.26.8
