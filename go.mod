module github.com/fakebill/toolkit

go 1.26

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/mux v1.8.1
	go.uber.org/goleak v1.3.0
)
